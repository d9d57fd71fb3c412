// What a real Mesos agent answers to one request on its executor endpoint, as a pure function of
// the request and the agent's state: the order of checks of src/slave/http.cpp:730-890, the
// JSON -> Call conversion of stout (stout-json.ts) and validateExecutorCall
// (src/common/validation.cpp:538-640). The simulator's HTTP server only carries out the decision.
import { parseJsonLikePicojson, parseMessage, type ProtoMessage } from './stout-json.js';

export const APPLICATION_JSON = 'application/json';
export const APPLICATION_PROTOBUF = 'application/x-protobuf';
export const EXECUTOR_PATH = '/api/v1/executor';

export type ExecutorStateOnAgent = 'REGISTERING' | 'RUNNING' | 'TERMINATING';

export interface AgentView {
  /** recoveryInfo.reconnect: false while the agent recovers its state (every call, SUBSCRIBE too, is 503). */
  reconnect: boolean;
  /** slave->state == RECOVERING: the re-registration window after a restart (calls other than SUBSCRIBE are 503). */
  recovering: boolean;
  frameworkId: string;
  executorId: string;
  /** The executor's state on the agent; undefined when the agent no longer knows it. */
  executorState: ExecutorStateOnAgent | undefined;
  /** When set, every request needs `Authorization: Bearer <token>` (else 401). */
  token: string | undefined;
  /** The agent's libprocess id, `slave(1)`: the prefix of its routes. */
  pidId: string;
  /** The request came over the executor domain socket (src/slave/slave.cpp:795-815). */
  viaDomainSocket: boolean;
}

export interface RequestView {
  method: string;
  /** The URL path, without the query. */
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  accept: string | undefined;
  body: string;
}

export type CallType = 'SUBSCRIBE' | 'UPDATE' | 'MESSAGE' | 'HEARTBEAT' | 'UNKNOWN';

export type Decision =
  | { kind: 'answer'; status: number; body: string; headers?: Readonly<Record<string, string>> }
  /** 200 and a RecordIO stream of `contentType`. */
  | { kind: 'subscribe'; call: ProtoMessage }
  /** 202, then the agent's statusUpdate(). */
  | { kind: 'update'; call: ProtoMessage }
  /** 202, then forwarded to the scheduler. */
  | { kind: 'message'; call: ProtoMessage };

const answer = (status: number, body = '', headers?: Readonly<Record<string, string>>): Decision =>
  headers === undefined ? { kind: 'answer', status, body } : { kind: 'answer', status, body, headers };

/** Which route a path reaches: the executor API, the operator API, or nothing the agent serves to this socket. */
function route(view: AgentView, path: string): 'executor' | 'operator' | 'forbidden' | 'not-found' {
  const prefix = `/${view.pidId}`;
  if (view.viaDomainSocket) {
    // slave.cpp:808-815: only the agent's own prefixed paths; anything else 403 with an empty body.
    if (path === `${prefix}${EXECUTOR_PATH}`) return 'executor';
    if (path === `${prefix}/api/v1`) return 'operator';
    return 'forbidden';
  }
  // libprocess delegates unprefixed paths to the agent process (process.cpp:2712-2731).
  if (path === EXECUTOR_PATH || path === `${prefix}${EXECUTOR_PATH}`) return 'executor';
  if (path === '/api/v1' || path === `${prefix}/api/v1`) return 'operator';
  return 'not-found';
}

export function decideExecutorRequest(view: AgentView, req: RequestView): Decision {
  const where = route(view, req.path);
  if (where === 'forbidden') return answer(403);
  if (where === 'not-found') return answer(404);
  // libprocess authenticates at the route, before the handler runs.
  if (view.token !== undefined && req.authorization !== `Bearer ${view.token}`) {
    return answer(401, '', { 'WWW-Authenticate': 'Bearer realm="mesos-agent-executor"' });
  }
  if (where === 'operator') return answer(501, 'the agent simulator does not serve the operator API');

  if (!view.reconnect) return answer(503, 'Agent has not finished recovery');
  if (req.method !== 'POST') return answer(405, `Expecting one of { 'POST' }, but received '${req.method}'`, { Allow: 'POST' });
  if (req.contentType === undefined) return answer(400, "Expecting 'Content-Type' to be present");
  if (req.contentType === APPLICATION_PROTOBUF) {
    // A real agent parses protobuf here; this simulator speaks JSON only.
    return answer(415, 'the agent simulator accepts only application/json calls');
  }
  if (req.contentType !== APPLICATION_JSON) {
    return answer(415, `Expecting 'Content-Type' of ${APPLICATION_JSON} or ${APPLICATION_PROTOBUF}`);
  }
  const json = parseJsonLikePicojson(req.body);
  if (!json.ok) return answer(400, `Failed to parse body into JSON: ${json.error}`);
  const parsed = parseMessage('Call', json.value);
  if (!parsed.ok) return answer(400, `Failed to convert JSON into Call protobuf: ${parsed.error}`);
  const call = parsed.value;
  const invalid = validateExecutorCall(call);
  if (invalid !== undefined) return answer(400, `Failed to validate Executor::Call: ${invalid}`);

  const type = call.type as CallType;
  if (type === 'SUBSCRIBE') {
    if (!acceptsMediaType(req.accept, APPLICATION_JSON)) {
      if (acceptsMediaType(req.accept, APPLICATION_PROTOBUF)) {
        return answer(406, 'the agent simulator streams only application/json events');
      }
      return answer(406, `Expecting 'Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'`);
    }
  } else if (type === 'HEARTBEAT') {
    return answer(202); // before any lookup: the ids may be dummies (http.cpp:799-804)
  } else if (view.recovering) {
    return answer(503, 'Agent has not finished recovery');
  }
  if (idValue(call.framework_id) !== view.frameworkId) return answer(400, 'Framework cannot be found');
  if (idValue(call.executor_id) !== view.executorId || view.executorState === undefined) {
    return answer(400, 'Executor cannot be found');
  }
  if (view.executorState === 'REGISTERING' && type !== 'SUBSCRIBE') return answer(403, 'Executor is not subscribed');
  switch (type) {
    case 'SUBSCRIBE':
      return { kind: 'subscribe', call };
    case 'UPDATE':
      return { kind: 'update', call };
    case 'MESSAGE':
      return { kind: 'message', call };
    default:
      return answer(501);
  }
}

function idValue(id: unknown): string | undefined {
  return typeof id === 'object' && id !== null ? ((id as ProtoMessage).value as string | undefined) : undefined;
}

/**
 * id::UUID::fromBytes (3rdparty/stout/include/stout/uuid.hpp:49-66): exactly 16 bytes and a
 * boost uuid version 1..5, i.e. the high nibble of byte 6.
 */
export function isValidUuidBytes(bytes: Uint8Array | undefined): boolean {
  if (bytes === undefined || bytes.byteLength !== 16) return false;
  const version = (bytes[6] as number) >> 4;
  return version >= 1 && version <= 5;
}

/** validateExecutorCall (src/common/validation.cpp:538-640) on a parsed Call. */
export function validateExecutorCall(call: ProtoMessage): string | undefined {
  // IsInitialized() already held: parseMessage refuses missing required fields.
  if (call.type === undefined) return "Expecting 'type' to be present";
  if (call.executor_id === undefined) return "Expecting 'executor_id' to be present";
  if (call.framework_id === undefined) return "Expecting 'framework_id' to be present";
  const executorId = idValue(call.executor_id) ?? '';
  const frameworkId = idValue(call.framework_id) ?? '';
  switch (call.type as CallType) {
    case 'SUBSCRIBE':
      return call.subscribe === undefined ? "Expecting 'subscribe' to be present" : undefined;
    case 'UPDATE': {
      const update = call.update as ProtoMessage | undefined;
      if (update === undefined) return "Expecting 'update' to be present";
      const status = update.status as ProtoMessage;
      if (status.uuid === undefined) return "Expecting 'uuid' to be present";
      if (!isValidUuidBytes(status.uuid as Uint8Array)) return 'Not a valid UUID';
      const statusExecutor = idValue(status.executor_id);
      if (statusExecutor !== undefined && statusExecutor !== executorId) {
        return `ExecutorID in Call: ${executorId} does not match ExecutorID in TaskStatus: ${statusExecutor}`;
      }
      // An unset enum reads as its first value, SOURCE_MASTER.
      if ((status.source ?? 'SOURCE_MASTER') !== 'SOURCE_EXECUTOR') {
        return `Received Call from executor ${executorId} of framework ${frameworkId} with invalid source, expecting 'SOURCE_EXECUTOR'`;
      }
      if (status.state === 'TASK_STAGING') {
        return `Received TASK_STAGING from executor ${executorId} of framework ${frameworkId} which is not allowed`;
      }
      return undefined;
    }
    case 'MESSAGE':
      return call.message === undefined ? "Expecting 'message' to be present" : undefined;
    default:
      return undefined;
  }
}

/**
 * libprocess Request::_acceptsMediaType (3rdparty/libprocess/src/http.cpp:389-444): an absent
 * header accepts everything; then `type/subtype`, `type/*`, `*\/*` in that order; q=0 refuses.
 */
export function acceptsMediaType(header: string | undefined, mediaType: string): boolean {
  const parts = mediaType.split('/').filter((p) => p !== '');
  if (parts.length !== 2) return false;
  if (header === undefined) return true;
  const cleaned = header.replace(/[ \t\n]/g, '');
  const candidates = [mediaType, `${parts[0]}/*`, '*/*'];
  for (const candidate of candidates) {
    for (const type of cleaned.split(',').filter((t) => t !== '')) {
      const tokens = type.split(';').filter((t) => t !== '');
      if (tokens.length === 0) continue;
      if ((tokens[0] as string).toLowerCase() !== candidate.toLowerCase()) continue;
      // strings::pairs(type, ";", "="): only `k=v` tokens with both sides count.
      const q = tokens.map((t) => t.split('=').filter((x) => x !== '')).filter((kv) => kv.length === 2 && kv[0] === 'q');
      if (q.length !== 1) return true; // no q value, or several
      const value = Number(q[0]?.[1]);
      return Number.isFinite(value) && value > 0;
    }
  }
  return false;
}
