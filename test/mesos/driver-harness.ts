// Wires a MesosHttpDriver to an AgentSimulator over real loopback HTTP, with a recording handler
// and a logger whose lines the test can read.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, expect } from 'vitest';
import { parseMesosEnv } from '../../src/io/mesos/env.js';
import { MesosHttpDriver, type MesosHttpDriverOptions } from '../../src/io/mesos/http-driver.js';
import type { SubscribedJson, TaskInfoJson } from '../../src/io/mesos/types.js';
import { AgentSimulator, type AgentSimulatorOptions, type ExecutorEnvOptions } from '../../src/sim/agent-simulator.js';

export interface HandlerLog {
  subscribed: SubscribedJson[];
  launches: { taskId: string; data: Uint8Array | null; task: TaskInfoJson }[];
  kills: string[];
  shutdowns: number;
  messages: Uint8Array[];
  errors: string[];
}

export interface Harness {
  driver: MesosHttpDriver;
  seen: HandlerLog;
  logs: { msg: string; level: number; [key: string]: unknown }[];
}

/**
 * Quick durations so that recovery paths take well under a second: start simulators for these
 * tests with `reregistrationTimeoutMs: FAST_WINDOW_MS`. A real agent passes its re-registration
 * timeout as the backoff max; here the max is half of it, so that a draw near the max plus a
 * loaded machine's lag (a full run here missed the window once that way) cannot miss the
 * window in tests of something else. Draws up to the max are tested with a fake clock.
 */
export const FAST_WINDOW_MS = 1_000;
export const FAST_ENV: ExecutorEnvOptions = {
  checkpoint: true,
  recoveryTimeout: '3secs',
  subscriptionBackoffMax: `${FAST_WINDOW_MS / 2}ms`,
  shutdownGracePeriod: '1secs',
};

export function connect(
  sim: AgentSimulator,
  envOptions: ExecutorEnvOptions = {},
  driverOptions: MesosHttpDriverOptions = {},
): Harness {
  const env = parseMesosEnv(sim.executorEnv({ ...FAST_ENV, ...envOptions }));
  const seen: HandlerLog = { subscribed: [], launches: [], kills: [], shutdowns: 0, messages: [], errors: [] };
  const logs: Harness['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const driver = new MesosHttpDriver(env, {
    onSubscribed: (info) => seen.subscribed.push(info),
    onLaunch: (taskId, data, task) => seen.launches.push({ taskId, data, task }),
    onKill: (taskId) => seen.kills.push(taskId),
    onShutdown: () => { seen.shutdowns += 1; },
    onMessage: (data) => seen.messages.push(data),
    onError: (message) => seen.errors.push(message),
  }, { logger: pino({ level: 'debug' }, sink), persistenceWaitMs: 2_000, ...driverOptions });
  return { driver, seen, logs };
}

/**
 * Agents and drivers that live for one test: `agent()` starts a simulator with the quick
 * re-registration window, `track()` has a driver stopped after the test, `launched()` LAUNCHes a
 * GC task and waits until the driver has it (its updates are then the executor's own). After
 * each test the drivers and agents are stopped first (so a failed check cannot leak them into
 * the next test), then no agent may have aborted or killed the executor for missing its
 * re-registration window, as a real agent would have.
 */
export function agentsPerTest(): {
  agent(options?: AgentSimulatorOptions): Promise<AgentSimulator>;
  track(h: Harness): Harness;
  launched(sim: AgentSimulator, h: Harness, taskId: string): Promise<void>;
} {
  const sims: AgentSimulator[] = [];
  const drivers: MesosHttpDriver[] = [];
  afterEach(async () => {
    const agents = sims.splice(0);
    await Promise.all(drivers.splice(0).map((d) => d.stop()));
    for (const s of agents) await s.stop();
    for (const s of agents) expect({ crashed: s.crashed, kills: s.executorKills }).toEqual({ crashed: undefined, kills: [] });
  });
  return {
    async agent(options = {}) {
      const sim = await AgentSimulator.start({ reregistrationTimeoutMs: FAST_WINDOW_MS, ...options });
      sims.push(sim);
      return sim;
    },
    track(h) {
      drivers.push(h.driver);
      return h;
    },
    async launched(sim, h, taskId) {
      sim.launch(taskId, new Uint8Array([1]));
      await sim.waitFor(() => h.seen.launches.some((l) => l.taskId === taskId), 5_000, `the LAUNCH of ${taskId}`);
    },
  };
}
