// The executor process and its agent connection: an agent restart mid-run, bad GC payloads, a
// wrong token, and an agent that never comes back.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { MSG_DESERIALIZATION_FAILED } from '../../src/executor/gc-executor.js';
import { AgentSimulator } from '../../src/sim/agent-simulator.js';
import { gcTaskInfo, launchEvent } from '../../src/sim/agent-events.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import {
  QUICK_FLAGS, RESTART_WINDOW_MS, agentArgs, denseAgent, ensureBuilt, expectAgentHappy, hasState, killExecutors, makeDir, runPlan, spawnExecutor, tempDir,
  updatesFor,
} from './harness.js';

const DAY = 86_400_000;

let dir: string;
let cleanup: () => Promise<void>;
let agent: DenseAgent;
const sims: AgentSimulator[] = [];

beforeAll(async () => {
  await ensureBuilt();
  ({ dir, cleanup } = await tempDir('thermos-gc-e2e-conn-'));
});
afterEach(async () => {
  killExecutors();
  for (const s of sims.splice(0)) await s.stop();
});
afterAll(async () => {
  await cleanup();
});

const sandbox = (name: string): Promise<string> => makeDir(dir, name);

describe('agent restart in the middle of a run', () => {
  it('loses no update, duplicates none after acknowledgement, and carries only its own in SUBSCRIBE', async () => {
    agent = await denseAgent(path.join(dir, 'agent-restart'), { tasks: 120, ageMs: DAY, seed: 3 });
    const sim = await AgentSimulator.start({ autoAck: false, reregistrationTimeoutMs: RESTART_WINDOW_MS });
    sims.push(sim);
    const ex = spawnExecutor(sim, [...agentArgs(agent), ...QUICK_FLAGS], { sandbox: await sandbox('sb-restart') });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');
    const plan = await runPlan(agent, agent.retained, Date.now() / 1000, dir);
    expect(Object.keys(plan.updates).length).toBeGreaterThan(3);

    sim.launch('gc-1', encodeAdjustRetainedTasks(agent.retained));
    await sim.waitFor(() => sim.updates.length > 0, 15_000, 'the first update');
    // The agent goes away with every update so far unacknowledged, and comes back on the same port.
    await sim.restart({ downMs: 300, recoveringMs: 200 });
    await sim.waitFor(() => sim.subscriptions.length >= 2 && sim.subscribed, 15_000, 'the executor to resubscribe');
    // Updates about Aurora's tasks are never acknowledged to the GC executor: they are not carried.
    const carried = sim.subscriptions[1]!.subscribe;
    expect(carried.unacknowledged_updates.filter((u) => u.status.task_id.value !== 'gc-1')).toEqual([]);
    expect(carried.unacknowledged_tasks.map((t) => t.task_id.value)).toEqual(['gc-1']);

    sim.autoAck = true;
    sim.ackAll();
    // gc-1's TASK_FINISHED may overtake the run's updates about Aurora tasks: when the run ends
    // while the agent is away it rides in the re-SUBSCRIBE, and those are POSTed after it.
    const planned = Object.keys(plan.updates);
    const received = (): Set<string> => new Set(sim.updates.map((u) => u.status.task_id.value));
    await sim.waitFor(
      () => hasState(sim, 'gc-1', 'TASK_FINISHED') && sim.unacknowledged().length === 0 && planned.every((id) => received().has(id)),
      20_000,
      'gc-1 finished and acknowledged, and every planned update received',
    );

    // No update lost and none twice (a resend after a lost 202 keeps its uuid): one uuid per task.
    const uuidsByTask = new Map<string, Set<string>>();
    for (const u of sim.updates) {
      const id = u.status.task_id.value;
      uuidsByTask.set(id, (uuidsByTask.get(id) ?? new Set()).add(u.status.uuid ?? ''));
    }
    const expected = [...Object.keys(plan.updates), 'gc-1'].sort();
    expect([...uuidsByTask.keys()].sort()).toEqual(expected);
    for (const [id, uuids] of uuidsByTask) expect({ id, uuids: uuids.size }).toEqual({ id, uuids: 1 });
    expect(updatesFor(sim, 'gc-1').every((s) => s.state === 'TASK_FINISHED')).toBe(true);

    sim.shutdown();
    expect((await ex.exited).code).toBe(0);
    expectAgentHappy(sim);
  });
});

describe('bad GC payloads', () => {
  it('answers TASK_FAILED for garbage bytes and bad base64, then still runs a good GC task', async () => {
    const small = await denseAgent(path.join(dir, 'agent-small'), { tasks: 10, ageMs: DAY, seed: 5 });
    const sim = await AgentSimulator.start();
    sims.push(sim);
    const sb = await sandbox('sb-bad');
    const ex = spawnExecutor(sim, [...agentArgs(small), ...QUICK_FLAGS, '--metrics-port', '0'], { sandbox: sb });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');

    sim.launch('gc-garbage', Uint8Array.from([0x0d, 0x00, 0x02, 0xff, 0x07]));
    sim.sendEvent(launchEvent({ ...gcTaskInfo(sim.identity, 'gc-base64', new Uint8Array(0)), data: '@@ not base64 @@' }));
    await sim.waitFor(() => hasState(sim, 'gc-garbage', 'TASK_FAILED') && hasState(sim, 'gc-base64', 'TASK_FAILED'), 15_000, 'both TASK_FAILED');
    for (const id of ['gc-garbage', 'gc-base64']) {
      expect(updatesFor(sim, id).map((s) => [s.state, s.message])).toEqual([['TASK_FAILED', MSG_DESERIALIZATION_FAILED]]);
    }

    sim.launch('gc-good', encodeAdjustRetainedTasks(small.retained));
    await sim.waitFor(() => hasState(sim, 'gc-good', 'TASK_FINISHED'), 15_000, 'gc-good finished');

    // --metrics-port: Prometheus text from the live process (the bound port is in the log).
    const log = await readFile(path.join(sb, 'executor_logs', 'thermos-gc.log'), 'utf8');
    const url = log.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { msg: string; url?: string }).find((e) => e.msg === 'serving Prometheus metrics')?.url;
    expect(url).toBeDefined();
    const res = await fetch(url!.replace('0.0.0.0', '127.0.0.1'));
    const text = await res.text();
    expect(text).toMatch(/^thermos_gc_runs_total 1$/m);
    expect(text).toMatch(/^thermos_gc_disk_pressure_deleted_total 0$/m);
    expect(text).toMatch(/^thermos_gc_calls_rejected_total 0$/m);
    sim.shutdown();
    expect((await ex.exited).code).toBe(0);
    expectAgentHappy(sim);
  });
});

describe('giving up on the agent', () => {
  it('reports a wrong token clearly and exits non-zero', async () => {
    const sim = await AgentSimulator.start({ token: 'the-right-token' });
    sims.push(sim);
    const ex = spawnExecutor(sim, ['--checkpoint-root', path.join(dir, 'none'), '--mesos-root', path.join(dir, 'none'), ...QUICK_FLAGS], {
      sandbox: await sandbox('sb-token'),
      token: 'a-wrong-token',
    });
    const exit = await ex.exited;
    expect(exit.code).toBe(1);
    expect(ex.stderr()).toMatch(/authentication failure/);
    expect(sim.subscriptions).toHaveLength(0);
  });

  it('exits non-zero when the agent does not come back within the recovery timeout', async () => {
    const sim = await AgentSimulator.start();
    sims.push(sim);
    const ex = spawnExecutor(sim, ['--checkpoint-root', path.join(dir, 'none'), '--mesos-root', path.join(dir, 'none'), ...QUICK_FLAGS], {
      sandbox: await sandbox('sb-gone'),
      recoveryTimeout: '1secs',
    });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');
    await sim.stop();
    const exit = await ex.exited;
    expect(exit.code).toBe(1);
    expect(ex.stderr()).toMatch(/recovery timeout/);
  });
});
