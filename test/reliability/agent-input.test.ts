// Hostile input from the agent, end to end: the real HTTP driver over the agent simulator, with
// the GC executor behind it. test/mesos covers the decoder and the driver alone (splits at every
// byte boundary, a ~100 MB event, bad framing, unknown types, bad base64 → null data); this file
// adds what reaches the executor: undecodable GC tasks answered TASK_FAILED with the connection
// and the queue unharmed, malformed events that are only logged, and a bad record mid-stream.
import { afterEach, describe, expect, it } from 'vitest';
import { compileConfig } from '../../src/config.js';
import { encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { ScheduleStatus } from '../../src/core/states.js';
import { GcExecutor, MSG_DESERIALIZATION_FAILED } from '../../src/executor/gc-executor.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import { parseMesosEnv } from '../../src/io/mesos/env.js';
import { MesosHttpDriver } from '../../src/io/mesos/http-driver.js';
import { encodeRecordIo } from '../../src/io/mesos/recordio-stream.js';
import { AgentSimulator } from '../../src/sim/agent-simulator.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeServices } from '../executor/fake-services.js';
import { FAST_ENV, FAST_WINDOW_MS } from '../mesos/driver-harness.js';
import { SOAK } from '../properties/budget.js';
import { recordingLogger, type LogLine } from './agent-fixture.js';

interface Wired {
  sim: AgentSimulator;
  driver: MesosHttpDriver;
  executor: GcExecutor;
  messages: Uint8Array[];
  lines: LogLine[];
}

const open: Wired[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) {
    await w.driver.stop();
    await w.sim.stop();
  }
});

async function wire(): Promise<Wired> {
  const sim = await AgentSimulator.start({ reregistrationTimeoutMs: FAST_WINDOW_MS });
  const { logger, lines } = recordingLogger();
  const messages: Uint8Array[] = [];
  let executor: GcExecutor | undefined;
  const driver = new MesosHttpDriver(
    parseMesosEnv(sim.executorEnv(FAST_ENV)),
    {
      onLaunch: (taskId, data) => executor?.launch(taskId, data),
      onKill: (taskId) => executor?.kill(taskId),
      onShutdown: () => executor?.shutdown(),
      onMessage: (data) => messages.push(data),
    },
    { logger, persistenceWaitMs: 500 },
  );
  const config = { ...compileConfig({ checkpointRoots: ['/nonexistent'] }), workers: 0 };
  executor = new GcExecutor({ driver, clock: new FakeClock(), config, services: new FakeServices(), logger, metrics: new GcMetrics() });
  const w = { sim, driver, executor, messages, lines };
  open.push(w);
  await driver.start();
  return w;
}

const validData = encodeAdjustRetainedTasks(new Map([['t1', ScheduleStatus.RUNNING]]));
const failedFor = (sim: AgentSimulator, taskId: string) =>
  sim.updates.filter((u) => u.status.task_id.value === taskId && u.status.state === 'TASK_FAILED');

describe('hostile agent input reaching the executor', () => {
  it('undecodable GC task data gets TASK_FAILED; the connection and the queue go on', async () => {
    const { sim, driver, executor } = await wire();
    const bad: Array<[string, Uint8Array]> = [
      ['garbage', Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3])],
      ['truncated', validData.subarray(0, validData.length - 2)],
      ['trailing', Buffer.concat([validData, Buffer.from([0])])],
      ['empty', new Uint8Array(0)],
      ['huge-claim', Uint8Array.from([13, 0, 2, 11, 8, 0x7f, 0xff, 0xff, 0xff, 0])],
      ['wrong-type', Uint8Array.from([15, 0, 2, 11, 0, 0, 0, 0, 0])],
    ];
    for (const [id, data] of bad) sim.launch(id, data);
    const task = (id: string, data: unknown) => ({ name: 'gc', task_id: { value: id }, agent_id: { value: 'S0' }, data });
    sim.sendEvent({ type: 'LAUNCH', launch: { task: task('bad-base64', '!!not base64!!') } });
    sim.sendEvent({ type: 'LAUNCH', launch: { task: task('number-data', 12345) } });
    sim.launch('good', validData);
    const refused = [...bad.map(([id]) => id), 'bad-base64', 'number-data'];
    await sim.waitFor(() => refused.every((id) => failedFor(sim, id).length === 1), 5_000, 'every refusal');

    for (const id of refused) expect(failedFor(sim, id)[0]?.status.message, id).toBe(MSG_DESERIALIZATION_FAILED);
    expect(executor.queuedTaskId).toBe('good');
    expect(failedFor(sim, 'good')).toEqual([]);
    expect(driver.connected).toBe(true);
  });

  it('malformed events are logged and ignored; a LAUNCH split into single bytes still arrives', async () => {
    const { sim, driver, executor, lines } = await wire();
    for (const ev of [
      null,
      [1, 2, 3],
      'LAUNCH',
      42,
      { type: 7 },
      { type: 'LAUNCH' },
      { type: 'LAUNCH', launch: { task: { task_id: { value: 5 } } } },
      { type: 'KILL', kill: {} },
      { type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: 'x' } } },
      { type: 'MESSAGE', message: { data: '%%%' } },
      { type: 'NO_SUCH_EVENT', no_such_event: {} },
    ]) sim.sendEvent(ev);
    // Keys JSON.parse makes own properties: nothing may reach Object.prototype.
    const proto = '{"type":"__proto__","__proto__":{"polluted":true},"kill":{"__proto__":{"polluted":true}}}';
    sim.sendRaw(Buffer.from(`${Buffer.byteLength(proto)}\n${proto}`));
    const launch = encodeRecordIo({ type: 'LAUNCH', launch: { task: { name: 'gc', task_id: { value: 'split' }, agent_id: { value: 'S0' }, data: Buffer.from(validData).toString('base64') } } });
    for (const byte of launch) sim.sendRaw(Uint8Array.of(byte));
    await sim.waitFor(() => executor.queuedTaskId === 'split', 5_000, 'the split LAUNCH');

    expect(lines.filter((l) => l.msg === 'malformed event ignored').length).toBeGreaterThanOrEqual(7);
    expect(driver.connected).toBe(true);
    expect(sim.subscriptions).toHaveLength(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a record that is not JSON breaks the stream: logged, resubscribed, later launches still served', async () => {
    const { sim, driver, executor, lines } = await wire();
    sim.sendRaw(Buffer.from('9\n{"type":}\n'));
    await sim.waitFor(() => sim.subscriptions.length === 2 && driver.connected, 5_000, 'resubscription');
    expect(lines.some((l) => /unreadable event stream/.test(l.msg))).toBe(true);
    sim.launch('after', validData);
    await sim.waitFor(() => executor.queuedTaskId === 'after', 5_000, 'the launch after');
  });

  it(`a large MESSAGE event (${SOAK ? 100 : 8} MB) arrives whole`, async () => {
    const { sim, messages } = await wire();
    const size = (SOAK ? 100 : 8) * 1024 * 1024;
    const data = Buffer.alloc(size, 7);
    data[size - 1] = 9;
    sim.message(data);
    await sim.waitFor(() => messages.length === 1, 30_000, 'the large message');
    expect(messages[0]?.byteLength).toBe(size);
    expect(messages[0]?.[size - 1]).toBe(9);
  });
});
