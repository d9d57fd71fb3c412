// The driver against the strict agent simulator, one test per way the executor used to break on
// a real Mesos agent (issue 14): uuids the agent refuses, refused calls retried forever and
// replayed into SUBSCRIBE (which aborts a real agent), updates about other executors' tasks
// waiting for acknowledgements that never come, 403 read as an authentication failure, and a
// hung SUBSCRIBE eating the re-registration window.
import { describe, expect, it } from 'vitest';
import type { AgentSimulator } from '../../src/sim/agent-simulator.js';
import { newStatusUuid } from '../../src/io/mesos/http-driver.js';
import type { UpdateCallJson } from '../../src/io/mesos/types.js';
import { isValidUuidBytes } from '../../src/sim/agent-rules.js';
import { agentsPerTest, connect } from './driver-harness.js';

const { agent, track, launched } = agentsPerTest();

const updateCalls = (sim: AgentSimulator) => sim.calls.filter((c) => c.type === 'UPDATE');
const uuidOf = (call: { body: unknown }) => (call.body as UpdateCallJson).update.status.uuid;

describe('status update uuids', () => {
  it('are RFC 4122 version 4 (16 bytes, version nibble 4, standard padded base64)', () => {
    for (let i = 0; i < 1_000; i++) {
      const text = newStatusUuid();
      const bytes = Buffer.from(text, 'base64');
      expect(bytes.toString('base64')).toBe(text);
      expect(isValidUuidBytes(bytes)).toBe(true);
      expect(bytes[6]! >> 4).toBe(4);
    }
  });

  it('every update the driver sends is accepted by the strict agent (none refused "Not a valid UUID")', async () => {
    const sim = await agent();
    const h = track(connect(sim));
    await h.driver.start();
    await launched(sim, h, 'gc-1');
    // With 16 random bytes about 11 in 16 of these were refused, and the first refusal blocked the rest.
    for (let i = 0; i < 40; i++) h.driver.sendStatusUpdate({ taskId: `thermos-${i}`, state: 'TASK_LOST', message: 'lost' });
    h.driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: 'done' });
    await sim.waitFor(() => sim.updates.length === 41 && h.driver.pendingAcks() === 0 && h.driver.undelivered() === 0, 10_000, '41 updates');
    expect(updateCalls(sim).map((c) => c.status)).toEqual(Array(41).fill(202));
    expect(sim.calls.filter((c) => c.status === 400)).toEqual([]);
  });
});

describe('calls the agent rejects', () => {
  it('are dropped with an error and a count, never resent nor carried in SUBSCRIBE, and do not block the calls behind them', async () => {
    const sim = await agent({ autoAck: false });
    const h = track(connect(sim));
    await h.driver.start();
    await launched(sim, h, 'gc-1');
    // A lone surrogate survives JSON.stringify as "\ud800"; the agent's JSON parser (picojson) refuses it: 400.
    h.driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_RUNNING', message: 'bad \ud800 text' });
    h.driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: 'done' });
    h.driver.sendFrameworkMessage(new Uint8Array([7]));
    await sim.waitFor(() => sim.messages.length === 1 && sim.updates.length === 1, 5_000, 'the calls behind the refused one');
    const [refused, accepted] = updateCalls(sim);
    expect(refused).toMatchObject({ status: 400 });
    expect(refused?.answer).toMatch(/^Failed to parse body into JSON/);
    expect(accepted).toMatchObject({ status: 202 });
    expect(h.driver.callStats().callsRejected).toBe(1);
    expect(h.driver.pendingAcks()).toBe(1); // the accepted one, waiting for its ACKNOWLEDGED
    expect(h.logs.some((l) => l.level === 50 && /rejected the call/.test(l.msg))).toBe(true);

    // After a restart, SUBSCRIBE carries only the accepted update; the refused one is never sent again.
    await sim.restart();
    await sim.waitFor(() => sim.subscriptions.length === 2 && h.driver.connected, 5_000, 're-subscription');
    expect(sim.subscriptions[1]?.subscribe.unacknowledged_updates.map((u) => u.status.uuid)).toEqual([uuidOf(accepted!)]);
    expect(updateCalls(sim).filter((c) => uuidOf(c) === uuidOf(refused!))).toHaveLength(1);
    sim.ackAll();
    await sim.waitFor(() => h.driver.pendingAcks() === 0, 5_000, 'the ack');
  });

  it('a 403 "Executor is not subscribed" makes the driver re-subscribe, not give up', async () => {
    const sim = await agent();
    const h = track(connect(sim));
    await h.driver.start();
    await launched(sim, h, 'gc-1');
    sim.forgetSubscription();
    h.driver.sendStatusUpdate({ taskId: 'thermos-1', state: 'TASK_LOST', message: '' });
    h.driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: '' });
    await sim.waitFor(() => sim.subscriptions.length === 2 && h.driver.pendingAcks() === 0 && h.driver.undelivered() === 0,
      5_000, 're-subscription and delivery');
    expect(updateCalls(sim)[0]).toMatchObject({ status: 403, answer: 'Executor is not subscribed' });
    expect(sim.updates.map((u) => [u.status.task_id.value, u.via])).toEqual([['gc-1', 'SUBSCRIBE'], ['thermos-1', 'UPDATE']]);
    expect(h.driver.connected).toBe(true);
    expect(h.driver.callStats().callsRejected).toBe(0);
  });
});

describe('updates about tasks the executor does not own', () => {
  it('are sent until the agent accepts them, then forgotten and counted; only own updates wait for ACKNOWLEDGED and ride in SUBSCRIBE', async () => {
    const sim = await agent();
    const h = track(connect(sim, {}, { persistenceWaitMs: 60_000 }));
    await h.driver.start();
    for (let run = 1; run <= 3; run++) {
      await launched(sim, h, `gc-${run}`);
      for (let i = 0; i < 20; i++) h.driver.sendStatusUpdate({ taskId: `thermos-${run}-${i}`, state: 'TASK_LOST', message: '' });
      h.driver.sendStatusUpdate({ taskId: `gc-${run}`, state: 'TASK_FINISHED', message: '' });
      await sim.waitFor(() => h.driver.pendingAcks() === 0 && h.driver.undelivered() === 0, 10_000, `run ${run} delivered`);
    }
    // The agent acknowledges only the GC tasks' updates; nothing is left waiting after three runs.
    expect(sim.updates.filter((u) => !u.own)).toHaveLength(60);
    expect(h.driver.callStats().foreignUpdatesSent).toBe(60);
    await sim.restart();
    await sim.waitFor(() => sim.subscriptions.length === 2 && h.driver.connected, 5_000, 're-subscription');
    expect(sim.subscriptions[1]?.subscribe.unacknowledged_updates).toEqual([]);
    // stop() waits for own acknowledgements only: with a 60 s persistence wait it would hang otherwise.
    await h.driver.stop();
    expect(await h.driver.done).toBe(0);
  });
});

describe('re-subscription after an agent restart', () => {
  it('abandons a hung SUBSCRIBE and still re-subscribes within the re-registration window', async () => {
    const sim = await agent({ reregistrationTimeoutMs: 600 });
    const h = track(connect(sim, { subscriptionBackoffMax: '600ms' }));
    await h.driver.start();
    await launched(sim, h, 'gc-1');
    // 503s for a while, then the window, whose first SUBSCRIBE is read and never answered.
    await sim.restart({ downMs: 100, recoveringMs: 1_500, swallowSubscribes: 1 });
    await sim.waitFor(() => sim.subscriptions.length === 2 && h.driver.connected, 5_000, 're-subscription');
    // The window ends: nobody was killed (afterEach), and calls are taken again.
    await new Promise((resolve) => setTimeout(resolve, 700));
    h.driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: '' });
    await sim.waitFor(() => h.driver.pendingAcks() === 0, 5_000, 'the ack');
    expect(sim.calls.filter((c) => c.type === 'SUBSCRIBE' && c.status === 503).length).toBeGreaterThan(0);
    expect(h.logs.some((l) => /no response from the agent within 150 ms/.test(String(l.reason)))).toBe(true);
  });
});
