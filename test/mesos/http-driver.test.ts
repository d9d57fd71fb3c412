import { afterEach, describe, it, expect } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentSimulator } from '../../src/sim/agent-simulator.js';
import type { Clock } from '../../src/core/ports.js';
import type { UpdateCallJson } from '../../src/io/mesos/types.js';
import { agentsPerTest, connect } from './driver-harness.js';

const { agent, track, launched } = agentsPerTest();
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const callsOf = (sim: AgentSimulator, type: string) => sim.calls.filter((c) => c.type === type);

describe('MesosHttpDriver against the agent simulator', () => {
  it('subscribes with the ids and JSON headers, and resolves start() on SUBSCRIBED', async () => {
    const sim = await agent();
    const { driver, seen } = track(connect(sim));
    await driver.start();
    expect(driver.connected).toBe(true);
    expect(sim.subscriptions).toEqual([{
      type: 'SUBSCRIBE',
      framework_id: { value: sim.frameworkId },
      executor_id: { value: sim.executorId },
      subscribe: { unacknowledged_tasks: [], unacknowledged_updates: [] },
    }]);
    expect(sim.calls[0]).toMatchObject({ type: 'SUBSCRIBE', contentType: 'application/json', status: 200 });
    expect(seen.subscribed[0]?.executor_info.executor_id.value).toBe(sim.executorId);
  });

  it('passes LAUNCH data to the handler, and null for malformed base64', async () => {
    const sim = await agent();
    const { driver, seen } = track(connect(sim));
    await driver.start();
    sim.launch('gc-1', new Uint8Array([11, 0, 1, 0, 0, 0, 0]));
    const task = { name: 'system-gc', task_id: { value: 'gc-2' }, agent_id: { value: 'S0' }, data: '!!notbase64' };
    sim.sendEvent({ type: 'LAUNCH', launch: { task } });
    await sim.waitFor(() => seen.launches.length === 2, 5_000, 'two launches');
    expect(seen.launches[0]?.taskId).toBe('gc-1');
    expect([...(seen.launches[0]?.data ?? [])]).toEqual([11, 0, 1, 0, 0, 0, 0]);
    expect(seen.launches[0]?.task.executor?.executor_id.value).toBe(sim.executorId);
    expect(seen.launches[1]).toMatchObject({ taskId: 'gc-2', data: null });
  });

  it('sends an UPDATE with the Mesos JSON shape, and an ACKNOWLEDGED clears it', async () => {
    const sim = await agent();
    const h = track(connect(sim));
    const { driver } = h;
    await driver.start();
    await launched(sim, h, 'gc-1');
    driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: 'gc done' });
    expect(driver.pendingAcks()).toBe(1);
    await sim.waitFor(() => sim.updates.length === 1 && driver.pendingAcks() === 0, 5_000, 'update acked');
    const call = callsOf(sim, 'UPDATE')[0];
    expect(call).toMatchObject({ status: 202, contentType: 'application/json' });
    const body = call?.body as UpdateCallJson;
    expect(body.framework_id).toEqual({ value: sim.frameworkId });
    expect(body.executor_id).toEqual({ value: sim.executorId });
    const status = body.update.status;
    expect(status).toMatchObject({
      task_id: { value: 'gc-1' }, state: 'TASK_FINISHED', source: 'SOURCE_EXECUTOR', message: 'gc done',
      executor_id: { value: sim.executorId },
    });
    const uuid = Buffer.from(status.uuid ?? '', 'base64');
    expect(uuid).toHaveLength(16);
    expect(uuid[6]! >> 4).toBe(4); // RFC 4122 version 4
    expect(uuid[8]! & 0xc0).toBe(0x80); // RFC 4122 variant
    expect(status.uuid).toBe(uuid.toString('base64')); // standard padded base64
    expect(typeof status.timestamp).toBe('number');
    expect(Math.abs((status.timestamp ?? 0) - Date.now() / 1000)).toBeLessThan(600);
  });

  it('keeps an unacknowledged update and task and resends them in SUBSCRIBE after an agent restart', async () => {
    const sim = await agent({ autoAck: false });
    const h = track(connect(sim));
    const { driver } = h;
    await driver.start();
    await launched(sim, h, 'gc-1');
    driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: 'done' });
    await sim.waitFor(() => sim.updates.length === 1, 5_000, 'the update');
    const uuid = sim.updates[0]?.status.uuid;

    await sim.restart();
    await sim.waitFor(() => sim.subscriptions.length === 2 && driver.connected, 5_000, 'resubscription');
    const again = sim.subscriptions[1]?.subscribe;
    expect(again?.unacknowledged_updates.map((u) => u.status.uuid)).toEqual([uuid]);
    expect(again?.unacknowledged_tasks.map((t) => t.task_id.value)).toEqual(['gc-1']);
    expect(sim.updates.map((u) => u.via)).toEqual(['UPDATE', 'SUBSCRIBE']);

    expect(sim.ackAll()).toBe(1);
    await sim.waitFor(() => driver.pendingAcks() === 0, 5_000, 'the ack');
    await sim.restart();
    await sim.waitFor(() => sim.subscriptions.length === 3 && driver.connected, 5_000, 'third subscription');
    expect(sim.subscriptions[2]?.subscribe).toEqual({ unacknowledged_tasks: [], unacknowledged_updates: [] });
    expect(callsOf(sim, 'UPDATE')).toHaveLength(1); // never re-POSTed
  });

  it('queues updates and messages produced while the agent is down: own ones ride in SUBSCRIBE, the rest are POSTed once it takes calls', async () => {
    const sim = await agent();
    const h = track(connect(sim));
    const { driver } = h;
    await driver.start();
    await launched(sim, h, 'gc-9');
    await sim.stop();
    await sim.waitFor(() => !driver.connected, 5_000, 'the driver to notice');
    driver.sendStatusUpdate({ taskId: 'gc-9', state: 'TASK_FINISHED', message: 'while away' });
    driver.sendStatusUpdate({ taskId: 'thermos-task-1', state: 'TASK_LOST', message: 'while away' });
    driver.sendFrameworkMessage(new Uint8Array([1, 2, 3]));
    expect(driver.pendingAcks()).toBe(1); // only the own update waits for ACKNOWLEDGED
    await sim.restart();
    await sim.waitFor(() => sim.messages.length === 1 && driver.pendingAcks() === 0 && driver.undelivered() === 0, 5_000, 'delivery');
    expect(sim.updates.map((u) => [u.status.task_id.value, u.via, u.own])).toEqual([
      ['gc-9', 'SUBSCRIBE', true], ['thermos-task-1', 'UPDATE', false],
    ]);
    // The re-registration window answers 503 to everything but SUBSCRIBE: retried until taken.
    const foreignPosts = callsOf(sim, 'UPDATE').map((c) => c.status);
    expect(foreignPosts.at(-1)).toBe(202);
    expect(new Set(foreignPosts)).toEqual(new Set(foreignPosts.length > 1 ? [503, 202] : [202]));
    expect([...(sim.messages[0] ?? [])]).toEqual([1, 2, 3]);
    expect(driver.callStats()).toEqual({ callsRejected: 0, foreignUpdatesSent: 1 });
  });

  it('gives up with a non-zero code when the agent stays away past the recovery timeout', async () => {
    const sim = await agent();
    const { driver, logs } = track(connect(sim, { recoveryTimeout: '600ms' }));
    await driver.start();
    await sim.stop();
    expect(await driver.done).toBe(1);
    expect(logs.some((l) => /recovery timeout/.test(l.msg))).toBe(true);
    expect(sim.subscriptions.length).toBe(1);
  });

  it('exits on a disconnect when the framework does not checkpoint', async () => {
    const sim = await agent();
    const { driver, logs } = track(connect(sim, { checkpoint: false }));
    await driver.start();
    sim.dropSubscriber();
    expect(await driver.done).toBe(1);
    expect(logs.some((l) => /does not checkpoint/.test(l.msg))).toBe(true);
    expect(sim.subscriptions).toHaveLength(1);
  });

  it('reports a refused token clearly and gives up', async () => {
    const sim = await agent({ token: 'right-token' });
    const { driver, logs } = track(connect(sim, { token: 'wrong-token' }));
    await expect(driver.start()).rejects.toMatchObject({ code: 'ERR_AGENT' });
    expect(await driver.done).toBe(1);
    expect(logs.some((l) => l.msg.includes("agent refused the executor's token (HTTP 401)"))).toBe(true);
    expect(sim.calls.map((c) => [c.authorization, c.status])).toEqual([['Bearer wrong-token', 401]]);
  });

  it('sends the bearer token on every call', async () => {
    const sim = await agent({ token: 'right-token' });
    const { driver } = track(connect(sim));
    await driver.start();
    driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: '' });
    driver.sendFrameworkMessage(new Uint8Array([7]));
    await sim.waitFor(() => sim.calls.length === 3 && driver.pendingAcks() === 0, 5_000, 'three calls');
    expect(new Set(sim.calls.map((c) => c.authorization))).toEqual(new Set(['Bearer right-token']));
    expect(sim.calls.map((c) => c.status)).toEqual([200, 202, 202]);
  });

  it('tells the handler about KILL, MESSAGE and SHUTDOWN, and tolerates HEARTBEAT and unknown events', async () => {
    const sim = await agent();
    const { driver, seen } = track(connect(sim));
    await driver.start();
    sim.heartbeat();
    sim.sendEvent({ type: 'SOMETHING_NEW', something_new: {} });
    sim.kill('gc-1');
    sim.message(new Uint8Array([9, 9]));
    sim.shutdown();
    await sim.waitFor(() => seen.shutdowns === 1, 5_000, 'SHUTDOWN');
    expect(seen.kills).toEqual(['gc-1']);
    expect(seen.messages.map((m) => [...m])).toEqual([[9, 9]]);
    expect(driver.connected).toBe(true);
  });

  it('answers LAUNCH_GROUP with TASK_FAILED for each task', async () => {
    const sim = await agent();
    const { driver, seen } = track(connect(sim));
    await driver.start();
    sim.launchGroup(['g-1', 'g-2']);
    await sim.waitFor(() => sim.updates.length === 2, 5_000, 'two refusals');
    expect(sim.updates.map((u) => [u.status.task_id.value, u.status.state])).toEqual([
      ['g-1', 'TASK_FAILED'], ['g-2', 'TASK_FAILED'],
    ]);
    expect(seen.launches).toHaveLength(0);
  });

  it('resubscribes after an ERROR event (hostile input: a real agent never sends one)', async () => {
    const sim = await agent();
    const h = track(connect(sim));
    const { driver, seen } = h;
    await driver.start();
    await launched(sim, h, 'gc-1');
    sim.sendEvent({ type: 'ERROR', error: { message: 'Received unexpected call' } });
    await sim.waitFor(() => sim.subscriptions.length === 2 && driver.connected, 5_000, 'resubscription');
    expect(seen.errors).toEqual(['Received unexpected call']);
    driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: '' });
    await sim.waitFor(() => driver.pendingAcks() === 0, 5_000, 'the ack');
  });

  it('reconnects after an unreadable event stream', async () => {
    const sim = await agent();
    const { driver, logs } = track(connect(sim));
    await driver.start();
    sim.sendRaw(Buffer.from('12x\n{}'));
    await sim.waitFor(() => sim.subscriptions.length === 2 && driver.connected, 5_000, 'resubscription');
    expect(logs.some((l) => /unreadable event stream/.test(l.msg))).toBe(true);
  });

  it('stop() waits for the outstanding acknowledgement, then resolves done with 0', async () => {
    const sim = await agent({ autoAck: false });
    const h = track(connect(sim));
    const { driver } = h;
    await driver.start();
    await launched(sim, h, 'gc-1');
    driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: '' });
    await sim.waitFor(() => sim.updates.length === 1, 5_000, 'the update');
    let stopped = false;
    const stopping = driver.stop().then(() => { stopped = true; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    sim.ackAll();
    await stopping;
    expect(driver.pendingAcks()).toBe(0);
    expect(await driver.done).toBe(0);
  });

  it('stop() gives up waiting after the persistence wait', async () => {
    const sim = await agent({ autoAck: false });
    const h = track(connect(sim, {}, { persistenceWaitMs: 100 }));
    const { driver, logs } = h;
    await driver.start();
    await launched(sim, h, 'gc-1');
    driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: '' });
    await driver.stop();
    expect(await driver.done).toBe(0);
    expect(driver.pendingAcks()).toBe(1);
    expect(logs.some((l) => /not yet acknowledged/.test(l.msg))).toBe(true);
  });

  it('works over the executor domain socket: every call to /slave(1)/api/v1/executor, across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thermos-gc-sock-'));
    dirs.push(dir);
    const sim = await agent({ socketPath: join(dir, 'agent.sock') });
    const { driver, seen } = track(connect(sim));
    await driver.start();
    sim.launch('gc-1', new Uint8Array([5]));
    await sim.waitFor(() => seen.launches.length === 1, 5_000, 'the launch');
    await sim.restart();
    await sim.waitFor(() => sim.subscriptions.length === 2 && driver.connected, 5_000, 'resubscription');
    driver.sendStatusUpdate({ taskId: 'gc-1', state: 'TASK_FINISHED', message: '' });
    driver.sendFrameworkMessage(new Uint8Array([1]));
    await sim.waitFor(() => driver.pendingAcks() === 0 && sim.messages.length === 1, 5_000, 'the ack and the message');
    expect(new Set(sim.calls.map((c) => `${c.transport} ${c.path}`))).toEqual(new Set(['socket /slave(1)/api/v1/executor']));
    expect(callsOf(sim, 'UPDATE').at(-1)?.status).toBe(202);
  });

  it('draws each re-subscription backoff uniformly from [0, backoff max], counted from the previous attempt (fake clock)', async () => {
    const sim = await agent();
    let now = 1_000_000;
    const waits: number[] = [];
    // Sleeps advance fake time at once; the connection attempts themselves are real (and refused).
    const clock: Clock = {
      now: () => now,
      sleep: (ms) => {
        waits.push(ms);
        now += ms;
        return new Promise((resolve) => setImmediate(resolve));
      },
    };
    const draws = [0.5, 0.25, 1, 0, 0.75, 0.1];
    let i = 0;
    const random = (): number => draws[i++ % draws.length] as number;
    const { driver } = track(connect(sim, { recoveryTimeout: '10secs', subscriptionBackoffMax: '1secs' }, { clock, random }));
    await driver.start();
    await sim.stop();
    expect(await driver.done).toBe(1);
    expect(waits.slice(0, 6)).toEqual([500, 250, 1000, 0, 750, 100]);
    expect(Math.max(...waits)).toBeLessThanOrEqual(1000);
    // The last wait is cut to what is left of the recovery timeout.
    expect(waits.reduce((a, b) => a + b, 0)).toBe(10_000);
  });
});
