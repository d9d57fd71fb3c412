// Wires a MesosHttpDriver to an AgentSimulator over real loopback HTTP, with a recording handler
// and a logger whose lines the test can read.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseMesosEnv } from '../../src/io/mesos/env.js';
import { MesosHttpDriver, type MesosHttpDriverOptions } from '../../src/io/mesos/http-driver.js';
import type { SubscribedJson, TaskInfoJson } from '../../src/io/mesos/types.js';
import type { AgentSimulator, ExecutorEnvOptions } from '../../src/sim/agent-simulator.js';

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
 * Quick durations so that recovery paths take well under a second. The backoff max is the
 * agent's re-registration timeout, as a real agent sets it: start simulators for these tests
 * with `reregistrationTimeoutMs: FAST_WINDOW_MS`.
 */
// Wide enough that a loaded CI machine (event-loop lag of a few hundred ms) cannot make a draw near the max miss it.
export const FAST_WINDOW_MS = 1_000;
export const FAST_ENV: ExecutorEnvOptions = {
  checkpoint: true,
  recoveryTimeout: '3secs',
  subscriptionBackoffMax: `${FAST_WINDOW_MS}ms`,
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
