// The real executor process against the strict agent simulator (issue 14's done-when): GC runs
// across agent restarts that 503 while recovering and then give 2 s to re-subscribe (one attempt
// hanging), over the executor domain socket, with KILL of a queued GC task, and with the
// authentication token gone from the environment of anything the executor starts.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { ScheduleStatus } from '../../src/core/states.js';
import { MSG_KILLED_QUEUED } from '../../src/executor/gc-executor.js';
import { EXECUTOR_VARS_FILE, type MetricsSnapshot } from '../../src/executor/metrics.js';
import { AgentSimulator } from '../../src/sim/agent-simulator.js';
import { killAllTracked } from '../helpers/fake-runner.js';
import {
  QUICK_FLAGS, agentArgs, denseAgent, ensureBuilt, expectAgentHappy, hasState, killExecutors, readJson, runPlan, spawnExecutor,
  makeDir, tempDir, updatesFor, writeStuckTask,
} from './harness.js';

const DAY = 86_400_000;
let dir: string;
let cleanup: () => Promise<void>;
const sims: AgentSimulator[] = [];

beforeAll(async () => {
  await ensureBuilt();
  ({ dir, cleanup } = await tempDir('thermos-gc-e2e-strict-'));
});
afterEach(async () => {
  killExecutors();
  killAllTracked();
  for (const s of sims.splice(0)) await s.stop();
});
afterAll(async () => {
  await cleanup();
});

const sandbox = (name: string): Promise<string> => makeDir(dir, name);

async function logLines(sb: string): Promise<{ msg: string; [k: string]: unknown }[]> {
  const file = path.join(sb, 'executor_logs', 'thermos-gc.log');
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { msg: string });
}

describe('agent restarts with the real re-registration window', () => {
  it('re-subscribes within 2 s after every restart, a hung attempt included, and finishes its GC runs', async () => {
    const agent = await denseAgent(path.join(dir, 'agent-window'), { tasks: 150, ageMs: DAY, seed: 21 });
    // The agent's defaults: a 2 s window, and MESOS_SUBSCRIPTION_BACKOFF_MAX = 2secs.
    const sim = await AgentSimulator.start();
    sims.push(sim);
    const sb = await sandbox('sb-window');
    const ex = spawnExecutor(sim, [...agentArgs(agent), ...QUICK_FLAGS], { sandbox: sb });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');
    const plan = await runPlan(agent, agent.retained, Date.now() / 1000, dir);

    for (let round = 1; round <= 2; round++) {
      // Down, then 503 to every call for 1.5 s, then the window, whose first SUBSCRIBE hangs.
      await sim.restart({ downMs: 200, recoveringMs: 1_500, swallowSubscribes: 1 });
      await sim.waitFor(() => sim.subscriptions.length === round + 1 && sim.subscribed, 15_000, `re-subscription ${round}`);
      expect(sim.executorKills).toEqual([]);
      sim.launch(`gc-${round}`, encodeAdjustRetainedTasks(agent.retained));
      await sim.waitFor(() => hasState(sim, `gc-${round}`, 'TASK_FINISHED') && sim.unacknowledged().length === 0, 30_000, `gc-${round} finished`);
    }
    // The first run sent the plan's updates; the second found nothing more to say.
    expect(new Set(sim.updates.filter((u) => !u.own).map((u) => u.status.task_id.value))).toEqual(new Set(Object.keys(plan.updates)));
    expect(sim.subscriptions.every((s) => s.subscribe.unacknowledged_updates.every((u) => u.status.task_id.value.startsWith('gc-')))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2_100)); // past the last window: nobody killed
    sim.shutdown();
    expect((await ex.exited).code).toBe(0);
    expectAgentHappy(sim);
    const vars = await readJson<MetricsSnapshot>(path.join(sb, EXECUTOR_VARS_FILE));
    expect(vars).toMatchObject({ gc_runs: 2, updates_pending_ack: 0, calls_rejected: 0 });
    expect((await logLines(sb)).some((l) => /no response from the agent within 500 ms/.test(String(l.reason)))).toBe(true);
  });
});

describe('the executor domain socket', () => {
  it('runs a GC task with every call to /slave(1)/api/v1/executor on the socket', async () => {
    const agent = await denseAgent(path.join(dir, 'agent-socket'), { tasks: 60, ageMs: DAY, seed: 22 });
    const sim = await AgentSimulator.start({ socketPath: path.join(dir, 'agent.sock') });
    sims.push(sim);
    const ex = spawnExecutor(sim, [...agentArgs(agent), ...QUICK_FLAGS], { sandbox: await sandbox('sb-socket') });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');
    const plan = await runPlan(agent, agent.retained, Date.now() / 1000, dir);
    sim.launch('gc-sock', encodeAdjustRetainedTasks(agent.retained));
    await sim.waitFor(() => hasState(sim, 'gc-sock', 'TASK_FINISHED'), 30_000, 'gc-sock finished');
    expect(Object.fromEntries(sim.updates.filter((u) => !u.own).map((u) => [u.status.task_id.value, u.status.state])))
      .toEqual(Object.fromEntries(Object.entries(plan.updates).map(([id, s]) => [id, `TASK_${s}`])));
    expect(sim.messages.length).toBe(plan.deleted_tasks.length > 0 ? 1 : 0);
    sim.shutdown();
    expect((await ex.exited).code).toBe(0);
    expect(new Set(sim.calls.map((c) => `${c.transport} ${c.path}`))).toEqual(new Set(['socket /slave(1)/api/v1/executor']));
    expectAgentHappy(sim);
  });

  it('refuses to start without MESOS_SLAVE_PID (the path cannot be guessed)', async () => {
    const sim = await AgentSimulator.start({ socketPath: path.join(dir, 'agent2.sock') });
    sims.push(sim);
    const ex = spawnExecutor(sim, ['--checkpoint-root', path.join(dir, 'none'), ...QUICK_FLAGS], {
      sandbox: await sandbox('sb-nopid'), env: { MESOS_SLAVE_PID: '' },
    });
    expect((await ex.exited).code).toBe(2);
    expect(ex.stderr()).toMatch(/MESOS_SLAVE_PID is not set/);
    expect(sim.calls).toEqual([]);
  });
});

describe('KILL', () => {
  it('of a queued GC task answers TASK_KILLED; of the running one leaves it running and says so', async () => {
    // A run that cannot finish: the lock holder is not the recorded runner, so the killer waits for the lock.
    const root = path.join(dir, 'ckpt-kill');
    const mesos = path.join(dir, 'mesos-kill');
    await writeStuckTask(root, mesos, 4_190_007);
    const sim = await AgentSimulator.start();
    sims.push(sim);
    const sb = await sandbox('sb-kill');
    const ex = spawnExecutor(sim, ['--checkpoint-root', root, '--mesos-root', mesos, ...QUICK_FLAGS, '--lock-timeout', '60s', '--kill-budget', '100%'], {
      sandbox: sb, shutdownGracePeriod: '1secs',
    });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');
    sim.launch('gc-running', encodeAdjustRetainedTasks(new Map([['elsewhere', ScheduleStatus.RUNNING]])));
    for (let i = 0; i < 500 && !(await logLines(sb)).some((l) => l.msg === 'launching garbage collection'); i++) await new Promise((r) => setTimeout(r, 10));
    sim.launch('gc-queued', encodeAdjustRetainedTasks(new Map()));
    sim.kill('gc-queued');
    sim.kill('gc-running');
    await sim.waitFor(() => hasState(sim, 'gc-queued', 'TASK_KILLED'), 15_000, 'TASK_KILLED for the queued task');
    expect(updatesFor(sim, 'gc-queued')).toEqual([expect.objectContaining({ state: 'TASK_KILLED', message: MSG_KILLED_QUEUED })]);
    expect(sim.unacknowledged()).toEqual([]); // it is the executor's own task: acknowledged
    const lines = await logLines(sb);
    expect(lines.some((l) => l.taskId === 'gc-running' && /runs to completion/.test(l.msg))).toBe(true);
    expect(hasState(sim, 'gc-running', 'TASK_KILLED')).toBe(false);
    sim.shutdown();
    expect((await ex.exited).code).toBe(0);
    expectAgentHappy(sim);
  });
});

describe('the authentication token', () => {
  it('is used for every call but is gone from the environment of a process the executor starts', async () => {
    const sim = await AgentSimulator.start({ token: 'very-secret-token' });
    sims.push(sim);
    const sb = await sandbox('sb-token');
    // A preload in the executor process: once told to, it starts a child and records that child's environment.
    const probe = path.join(dir, 'probe.cjs');
    const marker = path.join(dir, 'probe.go');
    const out = path.join(dir, 'probe.env');
    await writeFile(probe, `
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const t = setInterval(() => {
  if (!fs.existsSync(${JSON.stringify(marker)})) return;
  clearInterval(t);
  fs.writeFileSync(${JSON.stringify(out)}, execFileSync('/usr/bin/env', { encoding: 'utf8' }));
}, 20);
t.unref();
`);
    const empty = await sandbox('empty-root');
    const ex = spawnExecutor(sim, ['--checkpoint-root', empty, '--mesos-root', empty, ...QUICK_FLAGS], {
      sandbox: sb, env: { NODE_OPTIONS: `--require ${probe}` },
    });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');
    await writeFile(marker, '');
    await sim.waitFor(() => existsSync(out), 10_000, 'the probe child');
    const childEnv = await readFile(out, 'utf8');
    expect(childEnv).toMatch(/^MESOS_EXECUTOR_ID=/m); // the probe did see the executor's environment
    expect(childEnv).not.toMatch(/MESOS_EXECUTOR_AUTHENTICATION_TOKEN/);
    expect(childEnv).not.toContain('very-secret-token');
    sim.launch('gc-auth', encodeAdjustRetainedTasks(new Map()));
    await sim.waitFor(() => hasState(sim, 'gc-auth', 'TASK_FINISHED'), 15_000, 'gc-auth finished');
    expect(new Set(sim.calls.map((c) => c.authorization))).toEqual(new Set(['Bearer very-secret-token']));
    expect((await readFile(path.join(sb, 'executor_logs', 'thermos-gc.log'), 'utf8'))).not.toContain('very-secret-token');
    sim.shutdown();
    expect((await ex.exited).code).toBe(0);
    expectAgentHappy(sim);
  });
});
