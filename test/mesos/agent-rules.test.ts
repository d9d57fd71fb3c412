// The strict agent's rules as pure functions, table by table: the handler's order of checks
// (src/slave/http.cpp:730-890), validateExecutorCall, the uuid rule, Accept matching, stout's
// JSON <-> protobuf and base64, and the agent's Duration text.
import { describe, expect, it } from 'vitest';
import {
  acceptsMediaType, decideExecutorRequest, isValidUuidBytes, validateExecutorCall, type AgentView, type RequestView,
} from '../../src/sim/agent-rules.js';
import { stringifyDuration } from '../../src/sim/executor-env.js';
import { parseJsonLikePicojson, parseMessage, stoutBase64Decode, writeMessage } from '../../src/sim/stout-json.js';

const UUID_V4 = Buffer.from('0123456789ab4def8123456789abcdef', 'hex');
const UUID_BAD = Buffer.from('0123456789abcdef8123456789abcdef', 'hex'); // version nibble 0xc

const VIEW: AgentView = {
  reconnect: true, recovering: false, frameworkId: 'fw', executorId: 'ex', executorState: 'RUNNING',
  token: undefined, pidId: 'slave(1)', viaDomainSocket: false,
};

const ids = { framework_id: { value: 'fw' }, executor_id: { value: 'ex' } };
const status = (over: Record<string, unknown> = {}) => ({
  task_id: { value: 't' }, state: 'TASK_FINISHED', source: 'SOURCE_EXECUTOR', uuid: UUID_V4.toString('base64'), ...over,
});
const update = (over: Record<string, unknown> = {}) => JSON.stringify({ type: 'UPDATE', ...ids, update: { status: status(over) } });
const subscribe = JSON.stringify({ type: 'SUBSCRIBE', ...ids, subscribe: {} });

function request(over: Partial<RequestView> = {}): RequestView {
  return { method: 'POST', path: '/api/v1/executor', authorization: undefined, contentType: 'application/json', accept: 'application/json', body: update(), ...over };
}

describe('decideExecutorRequest', () => {
  it.each<[string, Partial<AgentView>, Partial<RequestView>, number | string, (string | RegExp)?]>([
    ['an UPDATE', {}, {}, 'update'],
    ['a MESSAGE', {}, { body: JSON.stringify({ type: 'MESSAGE', ...ids, message: { data: 'AQI=' } }) }, 'message'],
    ['a SUBSCRIBE', {}, { body: subscribe }, 'subscribe'],
    ['the prefixed path over TCP', {}, { path: '/slave(1)/api/v1/executor' }, 'update'],
    ['an unknown path', {}, { path: '/api/v1/scheduler' }, 404],
    ['the unprefixed path over the domain socket', { viaDomainSocket: true }, {}, 403, ''],
    ['another agent id over the domain socket', { viaDomainSocket: true }, { path: '/slave(2)/api/v1/executor' }, 403, ''],
    ['the prefixed path over the domain socket', { viaDomainSocket: true }, { path: '/slave(1)/api/v1/executor' }, 'update'],
    ['a missing token', { token: 'tok' }, {}, 401],
    ['the right token', { token: 'tok' }, { authorization: 'Bearer tok' }, 'update'],
    ['anything while recovering, SUBSCRIBE too', { reconnect: false }, { body: subscribe }, 503, 'Agent has not finished recovery'],
    ['a GET', {}, { method: 'GET' }, 405],
    ['no Content-Type', {}, { contentType: undefined }, 400, "Expecting 'Content-Type' to be present"],
    ['Content-Type with a charset', {}, { contentType: 'application/json; charset=utf-8' }, 415],
    ['a body that is not JSON', {}, { body: '{"type":' }, 400, /^Failed to parse body into JSON: /],
    ['a lone surrogate', {}, { body: update({ message: '\ud800' }) }, 400, /^Failed to parse body into JSON: /],
    ['a JSON array', {}, { body: '[]' }, 400, 'Failed to convert JSON into Call protobuf: Expecting a JSON object'],
    ['no executor_id', {}, { body: JSON.stringify({ type: 'UPDATE', framework_id: { value: 'fw' } }) }, 400,
      'Failed to convert JSON into Call protobuf: Missing required fields: executor_id'],
    ['a state given as a number', {}, { body: update({ state: 2 }) }, 400,
      "Failed to convert JSON into Call protobuf: Not expecting a JSON number for field 'state'"],
    ['an unknown state name', {}, { body: update({ state: 'TASK_DONE' }) }, 400,
      "Failed to convert JSON into Call protobuf: Failed to find enum for 'TASK_DONE'"],
    ['an unknown Call.type (optional: dropped)', {}, { body: JSON.stringify({ type: 'PING', ...ids }) }, 400,
      "Failed to validate Executor::Call: Expecting 'type' to be present"],
    ['a uuid that is not RFC 4122', {}, { body: update({ uuid: UUID_BAD.toString('base64') }) }, 400, 'Failed to validate Executor::Call: Not a valid UUID'],
    ['a uuid of 15 bytes', {}, { body: update({ uuid: UUID_V4.subarray(1).toString('base64') }) }, 400, 'Failed to validate Executor::Call: Not a valid UUID'],
    ['URL-safe base64 bytes', {}, { body: update({ uuid: '-_' }) }, 400, /Failed to base64 decode bytes field 'uuid': Invalid character '-'/],
    ['no source', {}, { body: update({ source: undefined }) }, 400, /invalid source, expecting 'SOURCE_EXECUTOR'/],
    ['TASK_STAGING', {}, { body: update({ state: 'TASK_STAGING' }) }, 400, /Received TASK_STAGING from executor ex/],
    ['another executor id in the status', {}, { body: update({ executor_id: { value: 'other' } }) }, 400, /does not match ExecutorID in TaskStatus: other/],
    ['an Accept refusing JSON and protobuf', {}, { body: subscribe, accept: 'text/html' }, 406],
    ['a HEARTBEAT with dummy ids, even while the agent recovers', { recovering: true, executorState: undefined },
      { body: JSON.stringify({ type: 'HEARTBEAT', framework_id: { value: 'unused' }, executor_id: { value: 'unused' } }) }, 202],
    ['an UPDATE in the re-registration window', { recovering: true }, {}, 503, 'Agent has not finished recovery'],
    ['a SUBSCRIBE in the re-registration window', { recovering: true, executorState: 'REGISTERING' }, { body: subscribe }, 'subscribe'],
    ['another framework', {}, { body: update().replace('"fw"', '"fw2"') }, 400, 'Framework cannot be found'],
    ['an UPDATE before SUBSCRIBE', { executorState: 'REGISTERING' }, {}, 403, 'Executor is not subscribed'],
    ['an executor the agent no longer knows', { executorState: undefined }, {}, 400, 'Executor cannot be found'],
    ['an UNKNOWN call', {}, { body: JSON.stringify({ type: 'UNKNOWN', ...ids }) }, 501],
  ])('%s', (_name, view, req, expected, body) => {
    const decision = decideExecutorRequest({ ...VIEW, ...view }, request(req));
    if (typeof expected === 'string') {
      expect(decision.kind).toBe(expected);
      return;
    }
    expect(decision).toMatchObject({ kind: 'answer', status: expected });
    if (body instanceof RegExp) expect(decision.kind === 'answer' && decision.body).toMatch(body);
    else if (body !== undefined) expect(decision.kind === 'answer' && decision.body).toBe(body);
  });

  it('numbers may come as strings; unknown fields, camelCase ones and nulls are ignored', () => {
    const body = update({ timestamp: '1700000000.5', taskId: { value: 'ignored' }, message: null, healthy: 'true' });
    const decision = decideExecutorRequest(VIEW, request({ body }));
    expect(decision.kind).toBe('update');
    const parsed = decision.kind === 'update' ? (decision.call.update as { status: Record<string, unknown> }).status : {};
    expect(parsed).toMatchObject({ timestamp: 1700000000.5, healthy: true, task_id: { value: 't' } });
    expect(parsed).not.toHaveProperty('message');
    expect(parsed).not.toHaveProperty('taskId');
  });
});

describe('isValidUuidBytes (id::UUID::fromBytes)', () => {
  it.each([[0x0, false], [0x1, true], [0x4, true], [0x5, true], [0x6, false], [0xf, false]])('version nibble %i → %s', (nibble, ok) => {
    const bytes = Buffer.from(UUID_V4);
    bytes[6] = (nibble << 4) | 0x0d;
    expect(isValidUuidBytes(bytes)).toBe(ok);
  });
  it('needs exactly 16 bytes', () => {
    expect(isValidUuidBytes(Buffer.concat([UUID_V4, Buffer.from([0])]))).toBe(false);
    expect(isValidUuidBytes(undefined)).toBe(false);
  });
});

describe('validateExecutorCall', () => {
  it.each([
    [{ type: 'SUBSCRIBE', ...ids }, "Expecting 'subscribe' to be present"],
    [{ type: 'UPDATE', ...ids }, "Expecting 'update' to be present"],
    [{ type: 'UPDATE', ...ids, update: { status: { task_id: { value: 't' }, state: 'TASK_LOST' } } }, "Expecting 'uuid' to be present"],
    [{ type: 'MESSAGE', ...ids }, "Expecting 'message' to be present"],
    [{ type: 'HEARTBEAT', ...ids }, undefined],
  ])('%o → %s', (call, error) => {
    expect(validateExecutorCall(call)).toBe(error);
  });
});

describe('acceptsMediaType (libprocess)', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, true], ['application/json', true], ['APPLICATION/JSON', true], ['application/*', true], ['*/*', true],
    ['text/html, application/json;q=0.5', true], ['application/json;q=0', false], ['application/json;q=0.0', false],
    ['application/json;q=abc', false], ['application/json;q=', true], ['text/html', false], ['application/x-protobuf', false],
  ])('%s → %s', (header, ok) => {
    expect(acceptsMediaType(header, 'application/json')).toBe(ok);
  });
});

describe('stout JSON and base64', () => {
  it.each<[string, number[] | string]>([
    ['AQI=', [1, 2]], ['AQI', [1, 2]], ['AQ I=', [1, 2]], ['AQI=garbage after padding', [1, 2]], ['', []], ['A', []],
    ['-_8=', "Invalid character '-'"], ['AQ.I', "Invalid character '.'"],
  ])('base64 %j', (text, expected) => {
    const got = stoutBase64Decode(text);
    if (typeof expected === 'string') expect(got).toEqual({ ok: false, error: expected });
    else expect(got.ok && [...got.value]).toEqual(expected);
  });

  it('picojson refuses NaN and lone surrogates that JSON.parse would take', () => {
    expect(parseJsonLikePicojson('{"a":NaN}').ok).toBe(false);
    expect(parseJsonLikePicojson('"\\udc00"').ok).toBe(false);
    expect(parseJsonLikePicojson('"\\ud83d\\ude00"')).toEqual({ ok: true, value: '😀' });
  });

  it('an optional enum with an unknown name is dropped; a repeated field takes one value or an array', () => {
    const parsed = parseMessage('CommandInfo', { arguments: 'one', uris: [{ value: 'u' }], environment: { variables: [{ name: 'A', type: 'NOPE' }] } });
    expect(parsed).toEqual({ ok: true, value: { arguments: ['one'], uris: [{ value: 'u' }], environment: { variables: [{ name: 'A' }] } } });
  });

  it('writes declaration order, set fields and non-deprecated defaults, bytes as padded base64', () => {
    expect(writeMessage('Resource', { scalar: { value: 1 }, type: 'SCALAR', name: 'cpus' })).toEqual({ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } });
    expect(Object.keys(writeMessage('Resource', { scalar: { value: 1 }, type: 'SCALAR', name: 'cpus' }))).toEqual(['name', 'type', 'scalar']);
    expect(writeMessage('FrameworkInfo', { name: 'Aurora', user: 'root' })).toEqual({ user: 'root', name: 'Aurora', failover_timeout: 0, checkpoint: false });
    expect(writeMessage('Event.Acknowledged', { task_id: { value: 't' }, uuid: new Uint8Array([0xfb, 0xff]) })).toEqual({ task_id: { value: 't' }, uuid: '+/8=' });
    expect(() => writeMessage('TaskID', { value: 't', extra: 1 })).toThrow(/no field 'extra'/);
  });
});

describe('stringifyDuration (stout Duration <<)', () => {
  it.each([[200, '200ms'], [2_000, '2secs'], [2_500, '2500ms'], [5_000, '5secs'], [90_000, '90secs'], [900_000, '15mins'], [3_600_000, '1hrs'], [86_400_000, '1days']])(
    '%i ms → %s', (ms, text) => expect(stringifyDuration(ms)).toBe(text),
  );
});
