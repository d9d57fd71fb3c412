import { describe, it, expect } from 'vitest';
import { parseMesosEnv } from '../../src/io/mesos/env.js';
import { decodeExecutorEvent } from '../../src/io/mesos/events.js';
import { decodeBase64Strict } from '../../src/io/mesos/types.js';
import { UpdateLedger } from '../../src/io/mesos/update-ledger.js';
import { UsageError } from '../../src/errors.js';

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
    });
    expect(env).toMatchObject({
      directory: '/var/lib/mesos/slaves/S0/frameworks/fw/executors/aurora.gc/runs/latest',
      sandbox: '/mnt/mesos/sandbox', checkpoint: true, recoveryTimeoutMs: 2_000,
      subscriptionBackoffMaxMs: 200, shutdownGracePeriodMs: 60_000, authenticationToken: 'tok',
      domainSocket: '/run/mesos/agent.sock',
    });
  });

  it('defaults the sandbox to the directory and accepts an IPv6 endpoint', () => {
    const env = parseMesosEnv({ ...base, MESOS_AGENT_ENDPOINT: '[::1]:5051', MESOS_DIRECTORY: '/d' });
    expect(env.sandbox).toBe('/d');
    expect(env.agentHost).toBe('::1');
  });

  it('does not need an endpoint with a domain socket', () => {
    const env = parseMesosEnv({ MESOS_FRAMEWORK_ID: 'f', MESOS_EXECUTOR_ID: 'e', MESOS_DOMAIN_SOCKET: '/s' });
    expect(env.agentEndpoint).toBeUndefined();
  });

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

describe('UpdateLedger', () => {
  const status = (task: string, uuid: string) => ({ task_id: { value: task }, state: 'TASK_FINISHED' as const, uuid });

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
