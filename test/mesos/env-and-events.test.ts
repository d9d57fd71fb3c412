import { describe, it, expect } from 'vitest';
import { parseMesosEnv } from '../../src/io/mesos/env.js';
import { decodeExecutorEvent } from '../../src/io/mesos/events.js';
import { decodeBase64Strict } from '../../src/io/mesos/types.js';
import { UpdateLedger } from '../../src/io/mesos/update-ledger.js';
import { UsageError } from '../../src/errors.js';
import { classifyCallStatus, classifySubscribeRefusal } from '../../src/io/mesos/call-outcome.js';

const base = {
  MESOS_AGENT_ENDPOINT: '10.0.0.5:5051',
  MESOS_FRAMEWORK_ID: 'fw-0000',
  MESOS_EXECUTOR_ID: 'aurora.gc',
};

describe('parseMesosEnv', () => {
  it('applies the documented defaults and freezes the result', () => {
    const env = parseMesosEnv(base);
    expect(env).toMatchObject({
      agentHost: '10.0.0.5', agentPort: 5051, frameworkId: 'fw-0000', executorId: 'aurora.gc',
      checkpoint: false, recoveryTimeoutMs: 15 * 60_000, subscriptionBackoffMaxMs: 2_000,
      shutdownGracePeriodMs: 5_000, authenticationToken: undefined, domainSocket: undefined,
    });
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('reads every variable', () => {
    const env = parseMesosEnv({
      ...base,
      MESOS_DIRECTORY: '/var/lib/mesos/slaves/S0/frameworks/fw/executors/aurora.gc/runs/latest',
      MESOS_SANDBOX: '/mnt/mesos/sandbox',
      MESOS_CHECKPOINT: '1',
      MESOS_RECOVERY_TIMEOUT: '2secs',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '200ms',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '1mins',
      MESOS_EXECUTOR_AUTHENTICATION_TOKEN: 'tok',
      MESOS_DOMAIN_SOCKET: '/run/mesos/agent.sock',
      MESOS_SLAVE_PID: 'slave(1)@10.0.0.5:5051',
      MESOS_SLAVE_ID: 'S0',
    });
    expect(env).toMatchObject({
      directory: '/var/lib/mesos/slaves/S0/frameworks/fw/executors/aurora.gc/runs/latest',
      sandbox: '/mnt/mesos/sandbox', checkpoint: true, recoveryTimeoutMs: 2_000,
      subscriptionBackoffMaxMs: 200, shutdownGracePeriodMs: 60_000, authenticationToken: 'tok',
      domainSocket: '/run/mesos/agent.sock', agentPidId: 'slave(1)', agentId: 'S0', executorApiPath: '/slave(1)/api/v1/executor',
    });
  });

  it('defaults the sandbox to the directory and accepts an IPv6 endpoint', () => {
    const env = parseMesosEnv({ ...base, MESOS_AGENT_ENDPOINT: '[::1]:5051', MESOS_DIRECTORY: '/d' });
    expect(env.sandbox).toBe('/d');
    expect(env.agentHost).toBe('::1');
  });

  it('does not need an endpoint with a domain socket', () => {
    const env = parseMesosEnv({ MESOS_FRAMEWORK_ID: 'f', MESOS_EXECUTOR_ID: 'e', MESOS_DOMAIN_SOCKET: '/s', MESOS_SLAVE_PID: 'slave(1)@10.0.0.5:5051' });
    expect(env.agentEndpoint).toBeUndefined();
  });

  it('over TCP POSTs /api/v1/executor; over the domain socket /<MESOS_SLAVE_PID id>/api/v1/executor', () => {
    expect(parseMesosEnv(base).executorApiPath).toBe('/api/v1/executor');
    expect(parseMesosEnv({ ...base, MESOS_SLAVE_PID: 'slave(1)@10.0.0.5:5051' })).toMatchObject({
      executorApiPath: '/api/v1/executor', agentPidId: 'slave(1)',
    });
    const socket = parseMesosEnv({ ...base, MESOS_DOMAIN_SOCKET: '/run/agent.sock', MESOS_SLAVE_PID: 'slave(3)@10.0.0.5:5051', MESOS_SLAVE_ID: 'S7' });
    expect(socket).toMatchObject({ executorApiPath: '/slave(3)/api/v1/executor', agentPidId: 'slave(3)', agentId: 'S7' });
    // A malformed pid over TCP is not needed, so not fatal.
    expect(parseMesosEnv({ ...base, MESOS_SLAVE_PID: 'garbage' }).agentPidId).toBeUndefined();
  });

  it.each([undefined, '', 'slave(1)', '@10.0.0.5:5051', 'slave(1)@10.0.0.5', 'sla/ve@10.0.0.5:5051', 'slave(1)@h:99999'])(
    'with a domain socket refuses MESOS_SLAVE_PID %j', (pid) => {
      const env = { ...base, MESOS_DOMAIN_SOCKET: '/run/agent.sock', MESOS_SLAVE_PID: pid };
      expect(() => parseMesosEnv(env)).toThrow(UsageError);
      expect(() => parseMesosEnv(env)).toThrow(/MESOS_SLAVE_PID/);
    },
  );

  it.each([
    [{ ...base, MESOS_FRAMEWORK_ID: undefined }, /MESOS_FRAMEWORK_ID/],
    [{ ...base, MESOS_EXECUTOR_ID: '' }, /MESOS_EXECUTOR_ID/],
    [{ ...base, MESOS_AGENT_ENDPOINT: undefined }, /MESOS_AGENT_ENDPOINT/],
    [{ ...base, MESOS_AGENT_ENDPOINT: 'localhost' }, /MESOS_AGENT_ENDPOINT/],
    [{ ...base, MESOS_AGENT_ENDPOINT: 'h:70000' }, /MESOS_AGENT_ENDPOINT/],
    [{ ...base, MESOS_RECOVERY_TIMEOUT: 'soon' }, /MESOS_RECOVERY_TIMEOUT/],
    [{ ...base, MESOS_CHECKPOINT: 'yes' }, /MESOS_CHECKPOINT/],
  ])('refuses %o naming the variable', (env, pattern) => {
    expect(() => parseMesosEnv(env)).toThrow(UsageError);
    expect(() => parseMesosEnv(env)).toThrow(pattern);
  });
});

describe('decodeBase64Strict', () => {
  it.each([['AAECAw==', [0, 1, 2, 3]], ['', []], ['/+8=', [255, 239]]])('decodes %s', (text, bytes) => {
    expect([...(decodeBase64Strict(text) ?? [99])]).toEqual(bytes);
  });
  it.each(['AAECAw', 'AA=CAw==', 'AAEC Aw==', 'AAECAw=-', '@@@@', 'AAECA===', 42])('refuses %s', (text) => {
    expect(decodeBase64Strict(text)).toBeNull();
  });
});

describe('decodeExecutorEvent', () => {
  it('decodes a LAUNCH with its data, with absent data as empty, and flags bad base64 as null', () => {
    const task = { name: 't', task_id: { value: 'gc-1' }, agent_id: { value: 'S0' }, data: 'AQI=' };
    expect(decodeExecutorEvent({ type: 'LAUNCH', launch: { task } })).toMatchObject({ type: 'LAUNCH', taskId: 'gc-1' });
    const ok = decodeExecutorEvent({ type: 'LAUNCH', launch: { task } });
    expect(ok.type === 'LAUNCH' && ok.data !== null ? [...ok.data] : undefined).toEqual([1, 2]);
    const empty = decodeExecutorEvent({ type: 'LAUNCH', launch: { task: { ...task, data: undefined } } });
    expect(empty.type === 'LAUNCH' ? empty.data?.length : -1).toBe(0);
    const bad = decodeExecutorEvent({ type: 'LAUNCH', launch: { task: { ...task, data: 'not base64!' } } });
    expect(bad).toMatchObject({ type: 'LAUNCH', data: null });
  });

  it.each([
    [null, 'event without a type'],
    [[1, 2], 'event without a type'],
    [{ type: 7 }, 'event without a type'],
    [{ type: 'LAUNCH', launch: {} }, 'LAUNCH without a task id'],
    [{ type: 'KILL', kill: { task_id: 'x' } }, 'KILL without a task id'],
    [{ type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: 'a' } } }, 'ACKNOWLEDGED without task id or uuid'],
    [{ type: 'MESSAGE', message: { data: '%%%' } }, 'MESSAGE with malformed base64 data'],
  ])('ignores malformed %j', (raw, reason) => {
    expect(decodeExecutorEvent(raw)).toMatchObject({ type: 'IGNORED', reason, malformed: true });
  });

  it('tolerates unknown types', () => {
    expect(decodeExecutorEvent({ type: 'LAUNCH_PODS' })).toMatchObject({ type: 'IGNORED', malformed: false });
  });

  it('decodes KILL, ACKNOWLEDGED, ERROR, LAUNCH_GROUP', () => {
    expect(decodeExecutorEvent({ type: 'KILL', kill: { task_id: { value: 'a' } } })).toEqual({ type: 'KILL', taskId: 'a' });
    expect(decodeExecutorEvent({ type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: 'a' }, uuid: 'u' } }))
      .toEqual({ type: 'ACKNOWLEDGED', taskId: 'a', uuid: 'u' });
    expect(decodeExecutorEvent({ type: 'ERROR', error: { message: 'm' } })).toEqual({ type: 'ERROR', message: 'm' });
    const group = decodeExecutorEvent({
      type: 'LAUNCH_GROUP',
      launch_group: { task_group: { tasks: [{ task_id: { value: 'a' } }, { nope: 1 }] } },
    });
    expect(group.type === 'LAUNCH_GROUP' ? group.tasks.map((t) => t.task_id.value) : []).toEqual(['a']);
  });
});

describe('call outcomes', () => {
  it.each([
    [202, 'accepted'], [400, 'rejected'], [405, 'rejected'], [406, 'rejected'], [415, 'rejected'], [501, 'rejected'],
    [401, 'auth'], [403, 'resubscribe'], [404, 'retry'], [503, 'retry'], [500, 'retry'], [502, 'retry'],
  ])('a call answered %i is %s', (status, outcome) => {
    expect(classifyCallStatus(status)).toBe(outcome);
  });
  it.each([[401, 'auth', true], [403, 'auth', true], [400, 'retry', true], [415, 'retry', true], [503, 'retry', false], [404, 'retry', false]])(
    'a SUBSCRIBE answered %i: %s (deterministic %s)', (status, outcome, deterministic) => {
      expect(classifySubscribeRefusal(status)).toEqual({ outcome, deterministic });
    },
  );
});

describe('UpdateLedger', () => {
  const status = (task: string, uuid: string, state: 'TASK_FINISHED' | 'TASK_LOST' = 'TASK_FINISHED') => ({ task_id: { value: task }, state, uuid });

  it('tracks foreign updates only until the agent accepts them, and never carries them in SUBSCRIBE', () => {
    const ledger = new UpdateLedger();
    ledger.noteLaunched({ name: 'n', task_id: { value: 'gc' }, agent_id: { value: 'S0' } });
    expect(ledger.addUpdate(status('thermos-1', 'f1', 'TASK_LOST'))).toBe(false);
    expect(ledger.addUpdate(status('gc', 'o1'))).toBe(true);
    expect(ledger.pendingCount).toBe(1);
    expect(ledger.takeForSubscribe().updates.map((u) => u.status.uuid)).toEqual(['o1']);
    const next = ledger.next();
    expect(next?.item).toEqual({ kind: 'update', uuid: 'f1', own: false });
    ledger.delivered(next!.item);
    expect(ledger.next()).toBeUndefined();
    expect(ledger.undeliveredCount).toBe(0);
    expect(ledger.pendingCount).toBe(1);
    // Once the GC task's terminal update is acknowledged, it is no longer "own".
    ledger.acknowledge('gc', 'o1');
    expect(ledger.isOwn('gc')).toBe(false);
  });

  it('drops a rejected own update for good: not resent, not carried in SUBSCRIBE', () => {
    const ledger = new UpdateLedger();
    ledger.noteLaunched({ name: 'n', task_id: { value: 'gc' }, agent_id: { value: 'S0' } });
    ledger.addUpdate(status('gc', 'o1'));
    ledger.addUpdate(status('gc', 'o2'));
    ledger.rejected(ledger.next()!.item);
    expect(ledger.next()?.item).toEqual({ kind: 'update', uuid: 'o2', own: true });
    expect(ledger.takeForSubscribe().updates.map((u) => u.status.uuid)).toEqual(['o2']);
  });

  it('moves undelivered updates into SUBSCRIBE and keeps messages for later', () => {
    const ledger = new UpdateLedger();
    ledger.noteLaunched({ name: 'n', task_id: { value: 'a' }, agent_id: { value: 'S0' } });
    ledger.addUpdate(status('a', 'u1'));
    ledger.addMessage('AA==');
    const owed = ledger.takeForSubscribe();
    expect(owed.updates.map((u) => u.status.uuid)).toEqual(['u1']);
    expect(owed.tasks.map((t) => t.task_id.value)).toEqual(['a']);
    expect(ledger.next()?.item).toEqual({ kind: 'message', data: 'AA==' });
    expect(ledger.pendingCount).toBe(1);
  });

  it('settles an update only for the matching task and uuid', () => {
    const ledger = new UpdateLedger();
    ledger.noteLaunched({ name: 'n', task_id: { value: 'a' }, agent_id: { value: 'S0' } });
    ledger.addUpdate(status('a', 'u1'));
    expect(ledger.acknowledge('b', 'u1')).toBeUndefined();
    expect(ledger.acknowledge('a', 'u1')?.uuid).toBe('u1');
    expect(ledger.pendingCount).toBe(0);
    expect(ledger.unacknowledgedTaskCount).toBe(0);
    expect(ledger.next()).toBeUndefined();
  });
});
