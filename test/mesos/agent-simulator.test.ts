import { afterEach, describe, it, expect } from 'vitest';
import http from 'node:http';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AgentSimulator } from '../../src/sim/agent-simulator.js';
import { RecordIoDecoder } from '../../src/io/mesos/recordio-stream.js';

const sims: AgentSimulator[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function agent(options: Parameters<typeof AgentSimulator.start>[0] = {}): Promise<AgentSimulator> {
  const sim = await AgentSimulator.start(options);
  sims.push(sim);
  return sim;
}

function post(sim: AgentSimulator, body: string, headers: http.OutgoingHttpHeaders = {}, method = 'POST'):
  Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: sim.port, method, path: '/api/v1/executor',
      headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A hand-written executor in plain JavaScript, independent of our driver: it reads the MESOS_*
// environment, subscribes and prints what it got, so the simulator's wire protocol is checked
// from outside.
const CHILD = `
const http = require('node:http');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MESOS_')));
const [host, port] = env.MESOS_AGENT_ENDPOINT.split(':');
const body = JSON.stringify({ type: 'SUBSCRIBE', framework_id: { value: env.MESOS_FRAMEWORK_ID },
  executor_id: { value: env.MESOS_EXECUTOR_ID }, subscribe: { unacknowledged_tasks: [], unacknowledged_updates: [] } });
const req = http.request({ host, port: Number(port), method: 'POST', path: '/api/v1/executor',
  headers: { 'Content-Type': 'application/json', Accept: 'application/json',
    Authorization: 'Bearer ' + env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN } }, (res) => {
  let buf = Buffer.alloc(0);
  res.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    const nl = buf.indexOf(10);
    const len = Number(buf.subarray(0, nl).toString());
    if (nl > 0 && buf.length >= nl + 1 + len) {
      const event = JSON.parse(buf.subarray(nl + 1, nl + 1 + len).toString());
      process.stdout.write(JSON.stringify({ status: res.statusCode, contentType: res.headers['content-type'],
        cwd: process.cwd(), env, libprocessPort: process.env.LIBPROCESS_PORT, event }));
      process.exit(0);
    }
  });
});
req.end(body);
`;

describe('AgentSimulator', () => {
  it('spawns an executor with the MESOS_* environment pointing at itself', async () => {
    const sim = await agent({ token: 's3cret' });
    const sandbox = await realpath(await mkdtemp(join(tmpdir(), 'thermos-gc-sandbox-')));
    dirs.push(sandbox);
    const child = sim.spawnExecutor([process.execPath, '-e', CHILD], {
      sandbox, recoveryTimeout: '2secs', subscriptionBackoffMax: '200ms', env: { EXTRA: '1' },
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const got = JSON.parse(out) as {
      status: number; contentType: string; cwd: string; env: Record<string, string>; libprocessPort: string;
      event: { type: string; subscribed: { framework_info: { id: { value: string } }; executor_info: unknown } };
    };
    expect(got.status).toBe(200);
    expect(got.contentType).toBe('application/json');
    expect(got.cwd).toBe(sandbox);
    expect(got.env).toEqual({
      MESOS_AGENT_ENDPOINT: `127.0.0.1:${sim.port}`,
      MESOS_SLAVE_PID: `slave(1)@127.0.0.1:${sim.port}`,
      MESOS_SLAVE_ID: sim.identity.agentId,
      MESOS_FRAMEWORK_ID: sim.frameworkId,
      MESOS_EXECUTOR_ID: sim.executorId,
      MESOS_DIRECTORY: sandbox,
      MESOS_SANDBOX: sandbox,
      MESOS_CHECKPOINT: '1',
      MESOS_HTTP_COMMAND_EXECUTOR: '0',
      MESOS_RECOVERY_TIMEOUT: '2secs',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '200ms',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
      MESOS_EXECUTOR_AUTHENTICATION_TOKEN: 's3cret',
    });
    expect(got.libprocessPort).toBe('0');
    expect(got.event.type).toBe('SUBSCRIBED');
    expect(got.event.subscribed.framework_info.id.value).toBe(sim.frameworkId);
    expect(sim.subscriptions).toHaveLength(1);
  });

  it.each([
    ['a GET', '', {}, 'GET', 405],
    ['a missing bearer token', '{}', { Authorization: 'Bearer nope' }, 'POST', 401],
    ['a wrong content type', '{}', { 'Content-Type': 'text/plain' }, 'POST', 415],
    ['a body that is not JSON', 'nope', {}, 'POST', 400],
  ] as const)('answers %s with the agent status', async (_name, body, headers, method, status) => {
    const sim = await agent({ token: 'tok' });
    const auth = status === 401 ? {} : { Authorization: 'Bearer tok' };
    const res = await post(sim, body, { ...auth, ...headers }, method);
    expect(res.status).toBe(status);
    expect(sim.calls.at(-1)?.status).toBe(status);
  });

  it('refuses calls for another framework or executor, and incomplete ones', async () => {
    const sim = await agent();
    const call = (fw: string, ex: string, status: unknown) => JSON.stringify({ type: 'UPDATE', framework_id: { value: fw },
      executor_id: { value: ex }, update: { status } });
    const good = { task_id: { value: 't' }, state: 'TASK_LOST', source: 'SOURCE_EXECUTOR', uuid: Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64') };
    expect((await post(sim, call('other', sim.executorId, good))).text).toBe('Framework cannot be found');
    expect((await post(sim, call(sim.frameworkId, 'other', good))).text).toBe('Executor cannot be found');
    expect((await post(sim, call(sim.frameworkId, sim.executorId, {}))).text)
      .toBe('Failed to convert JSON into Call protobuf: Missing required fields: update.status.task_id, update.status.state');
    // Nobody subscribed yet: the executor is still REGISTERING.
    expect(await post(sim, call(sim.frameworkId, sim.executorId, good))).toEqual({ status: 403, text: 'Executor is not subscribed' });
    expect(sim.updates).toHaveLength(0);
  });

  it('streams RecordIO events to a raw subscriber and restarts on the same port', async () => {
    const sim = await agent();
    const port = sim.port;
    const events: unknown[] = [];
    const decoder = new RecordIoDecoder();
    const body = JSON.stringify({ type: 'SUBSCRIBE', framework_id: { value: sim.frameworkId },
      executor_id: { value: sim.executorId }, subscribe: { unacknowledged_tasks: [], unacknowledged_updates: [] } });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/executor',
      headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.on('data', (d: Buffer) => { for (const e of decoder.feed(d)) events.push(e); });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end(body);
    await sim.waitFor(() => sim.subscribed && events.length === 1, 5_000, 'SUBSCRIBED');
    sim.launch('gc-1', new Uint8Array([1, 2]));
    sim.kill('gc-1');
    await sim.waitFor(() => events.length === 3, 5_000, 'LAUNCH and KILL');
    expect(events.map((e) => (e as { type: string }).type)).toEqual(['SUBSCRIBED', 'LAUNCH', 'KILL']);
    expect(events[1]).toMatchObject({ launch: { task: { task_id: { value: 'gc-1' }, data: 'AQI=' } } });
    // stout's field order and defaults: TaskInfo, then ExecutorInfo's command with shell = true.
    const task = (events[1] as { launch: { task: Record<string, unknown> } }).launch.task;
    expect(Object.keys(task)).toEqual(['name', 'task_id', 'agent_id', 'resources', 'executor', 'kill_policy', 'data', 'labels']);
    expect(task.executor).toMatchObject({ type: 'CUSTOM', command: { shell: true, uris: [{ extract: true }] } });
    expect((task.resources as unknown[])[0]).toEqual({ name: 'cpus', type: 'SCALAR', scalar: { value: 0.19 }, allocation_info: { role: 'aurora' } });
    await sim.restart();
    expect(sim.port).toBe(port);
    expect(sim.subscribed).toBe(false);
    expect(() => sim.heartbeat()).toThrow(/no executor is subscribed/);
  });
});
