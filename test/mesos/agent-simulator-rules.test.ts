// The simulator behaves as a real agent would, seen from a raw client: it aborts on an invalid
// uuid carried in SUBSCRIBE, acknowledges only the executor's own tasks, drops updates for
// another agent id, serves only the prefixed path on the domain socket, answers 503 while it
// recovers, kills an executor that misses the re-registration window, and sends heartbeats.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSimulator, type AgentSimulatorOptions } from '../../src/sim/agent-simulator.js';
import { calls, post, subscribe, tcp, type RawStream } from './raw-executor.js';

const sims: AgentSimulator[] = [];
const streams: RawStream[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  for (const s of sims.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function agent(options: AgentSimulatorOptions = {}): Promise<AgentSimulator> {
  const sim = await AgentSimulator.start({ reregistrationTimeoutMs: 300, ...options });
  sims.push(sim);
  return sim;
}

async function subscribed(sim: AgentSimulator, body?: string): Promise<RawStream> {
  const stream = await subscribe(tcp(sim), body ?? calls(sim).subscribe());
  streams.push(stream);
  await sim.waitFor(() => stream.events.length >= 1, 5_000, 'SUBSCRIBED');
  return stream;
}

describe('the strict agent simulator', () => {
  it('aborts when a SUBSCRIBE carries an update whose uuid is not RFC 4122, as the real agent does', async () => {
    const sim = await agent();
    const c = calls(sim);
    const bad = c.status('t1', { uuid: Buffer.alloc(16, 0xcc).toString('base64') });
    // The agent dies inside Slave::subscribe(), before the response: the connection just drops.
    await expect(subscribe(tcp(sim), c.subscribe([{ status: c.status('t0') }, { status: bad }]))).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(sim.crashed).toMatch(/Not a valid UUID/);
    await expect(post(tcp(sim), c.update(c.status('t2')))).rejects.toThrow(/ECONNREFUSED/);
    // The same uuid in an UPDATE is refused by validation instead.
    const other = await agent();
    await subscribed(other);
    expect(await post(tcp(other), calls(other).update(bad))).toEqual({ status: 400, text: 'Failed to validate Executor::Call: Not a valid UUID' });
    expect(other.crashed).toBeUndefined();
  });

  it('acknowledges only updates about tasks it launched to the executor, and drops updates for another agent id', async () => {
    const sim = await agent();
    const stream = await subscribed(sim);
    sim.launch('gc-1', new Uint8Array([1]));
    const c = calls(sim);
    const own = c.status('gc-1');
    const foreign = c.status('thermos-1', { state: 'TASK_LOST' });
    const elsewhere = c.status('gc-1', { agent_id: { value: 'some-other-agent' } });
    for (const s of [own, foreign, elsewhere]) expect((await post(tcp(sim), c.update(s))).status).toBe(202);
    await sim.waitFor(() => stream.events.some((e) => e.type === 'ACKNOWLEDGED'), 5_000, 'the ack');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stream.events.filter((e) => e.type === 'ACKNOWLEDGED')).toEqual([
      { type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: 'gc-1' }, uuid: own.uuid } },
    ]);
    expect(sim.updates.map((u) => [u.status.task_id.value, u.own])).toEqual([['gc-1', true], ['thermos-1', false]]);
    expect(sim.droppedUpdates.map((d) => d.why)).toEqual([expect.stringMatching(/Slave ID mismatch/)]);
  });

  it('on the domain socket serves only /slave(1)/api/v1/executor and /slave(1)/api/v1, 403 with an empty body otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thermos-gc-sim-sock-'));
    dirs.push(dir);
    const sim = await agent({ socketPath: join(dir, 'agent.sock') });
    const socket = { socketPath: join(dir, 'agent.sock') };
    const body = calls(sim).subscribe();
    expect(await post(socket, body, '/api/v1/executor')).toEqual({ status: 403, text: '' });
    expect(await post(socket, body, '/slave(2)/api/v1/executor')).toEqual({ status: 403, text: '' });
    expect((await post(socket, body, '/slave(1)/api/v1')).status).toBe(501);
    const stream = await subscribe(socket, body, '/slave(1)/api/v1/executor');
    streams.push(stream);
    expect(stream.status).toBe(200);
    expect(sim.executorEnv()).toMatchObject({ MESOS_DOMAIN_SOCKET: socket.socketPath, MESOS_SLAVE_PID: `slave(1)@127.0.0.1:${sim.port}` });
  });

  it('after a restart: 503 to everything while recovering, then only SUBSCRIBE until the window ends', async () => {
    const sim = await agent({ reregistrationTimeoutMs: 400 });
    const c = calls(sim);
    await subscribed(sim);
    await sim.restart({ recoveringMs: 300 });
    expect(await post(tcp(sim), c.subscribe())).toEqual({ status: 503, text: 'Agent has not finished recovery' });
    await new Promise((resolve) => setTimeout(resolve, 350));
    // The window: the executor is REGISTERING, but the agent's own state check (503) comes first.
    expect(await post(tcp(sim), c.update(c.status('t')))).toEqual({ status: 503, text: 'Agent has not finished recovery' });
    const stream = await subscribe(tcp(sim), c.subscribe());
    streams.push(stream);
    expect(stream.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await post(tcp(sim), c.update(c.status('t')))).status).toBe(202);
    expect(sim.executorKills).toEqual([]);
  });

  it('kills an executor that does not re-subscribe within the window, and shuts it down if it comes later', async () => {
    const sim = await agent({ reregistrationTimeoutMs: 200 });
    const child = sim.spawnExecutor([process.execPath, '-e', 'setInterval(() => {}, 1000)']);
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await sim.restart();
    expect(await exit).toBe('SIGKILL');
    expect(sim.executorKills).toEqual(['Executor did not reregister within 200ms']);
    const late = await subscribe(tcp(sim), calls(sim).subscribe());
    streams.push(late);
    await sim.waitFor(() => late.closed, 5_000, 'the SHUTDOWN');
    expect(late.events.map((e) => e.type)).toEqual(['SHUTDOWN']);
  });

  it('sends a HEARTBEAT every heartbeat interval, a full SUBSCRIBED first, and answers HEARTBEAT calls 202', async () => {
    const sim = await agent({ heartbeatIntervalMs: 50 });
    const stream = await subscribed(sim);
    await sim.waitFor(() => stream.events.filter((e) => e.type === 'HEARTBEAT').length >= 2, 5_000, 'two heartbeats');
    const subscribedEvent = stream.events[0] as { type: string; subscribed: Record<string, Record<string, unknown>> };
    expect(Object.keys(subscribedEvent.subscribed)).toEqual(['executor_info', 'framework_info', 'agent_info', 'container_id']);
    expect(subscribedEvent.subscribed.framework_info).toMatchObject({ failover_timeout: 1_814_400, checkpoint: true, roles: ['aurora'] });
    expect(subscribedEvent.subscribed.agent_info).toMatchObject({ port: sim.port, id: { value: sim.identity.agentId } });
    const heartbeat = JSON.stringify({ type: 'HEARTBEAT', framework_id: { value: 'unused' }, executor_id: { value: 'unused' } });
    expect((await post(tcp(sim), heartbeat)).status).toBe(202);
  });
});
