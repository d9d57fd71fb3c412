// The two kinds of HTTP exchange with the agent's executor endpoint: a short call (UPDATE,
// MESSAGE → 202) over a keep-alive agent, and the long-lived SUBSCRIBE response stream.
import http from 'node:http';
import type { MesosExecutorEnv } from './env.js';
import type { ExecutorCallJson } from './types.js';

/** Response bodies of failed calls are read only this far, for the log. */
const MAX_ERROR_BODY = 4096;

/** Reads a response body, keeping at most MAX_ERROR_BODY bytes of it (a reply is only ever logged). */
function readBoundedBody(res: http.IncomingMessage, onEnd: (body: string) => void): void {
  const parts: Buffer[] = [];
  let kept = 0;
  res.on('data', (chunk: Buffer) => {
    if (kept < MAX_ERROR_BODY) {
      parts.push(chunk);
      kept += chunk.length;
    }
  });
  res.on('end', () => onEnd(Buffer.concat(parts).subarray(0, MAX_ERROR_BODY).toString('utf8')));
}

export type AgentTarget = { socketPath: string } | { host: string; port: number };

export function agentTarget(env: MesosExecutorEnv): AgentTarget {
  if (env.domainSocket !== undefined) return { socketPath: env.domainSocket };
  // parseMesosEnv guarantees an endpoint when there is no domain socket.
  return { host: env.agentHost ?? '127.0.0.1', port: env.agentPort ?? 5051 };
}

function requestHeaders(env: MesosExecutorEnv, payload: Buffer): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': 'application/json',
    Accept: 'application/json',
    'Content-Length': payload.length,
  };
  if (env.authenticationToken !== undefined) headers.Authorization = `Bearer ${env.authenticationToken}`;
  return headers;
}

export interface CallResult {
  status: number;
  /** The start of the response body (the agent explains 4xx/5xx there). */
  body: string;
}

/** POSTs one call and reads the (short) response. Rejects on a network error or timeout. */
export function postCall(
  env: MesosExecutorEnv,
  agent: http.Agent,
  call: ExecutorCallJson,
  timeoutMs: number,
): Promise<CallResult> {
  const payload = Buffer.from(JSON.stringify(call), 'utf8');
  return new Promise((resolve, reject) => {
    const req = http.request({
      ...agentTarget(env),
      agent,
      method: 'POST',
      path: env.executorApiPath,
      headers: requestHeaders(env, payload),
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response from the agent within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      res.on('error', reject);
      readBoundedBody(res, (body) => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.end(payload);
  });
}

export interface SubscribeStreamCallbacks {
  /** Response headers arrived with a status other than 200; the body start is given. */
  onRefused(status: number, body: string): void;
  onChunk(chunk: Buffer): void;
  /**
   * The connection failed or ended, for any reason (called at most once, also after onRefused);
   * `timedOut`: no response headers came within the deadline.
   */
  onClosed(reason: string, timedOut: boolean): void;
}

/**
 * Opens the SUBSCRIBE stream on its own connection (not pooled: it never ends). Returns the
 * request so the caller can destroy it. `connectTimeoutMs` bounds, from the moment of the call,
 * the wait for the connection and the response headers: an attempt that hangs is abandoned.
 */
export function openSubscribeStream(
  env: MesosExecutorEnv,
  call: ExecutorCallJson,
  connectTimeoutMs: number,
  callbacks: SubscribeStreamCallbacks,
): http.ClientRequest {
  const payload = Buffer.from(JSON.stringify(call), 'utf8');
  let closed = false;
  let timedOut = false;
  const close = (reason: string): void => {
    if (closed) return;
    closed = true;
    callbacks.onClosed(reason, timedOut);
  };
  const req = http.request({
    ...agentTarget(env),
    agent: false,
    method: 'POST',
    path: env.executorApiPath,
    headers: { ...requestHeaders(env, payload), Connection: 'keep-alive' },
  });
  // An absolute deadline, not an idle timeout: a trickle of bytes must not keep a dead attempt alive.
  const deadline = setTimeout(() => {
    timedOut = true;
    req.destroy(new Error(`no response from the agent within ${connectTimeoutMs} ms`));
  }, connectTimeoutMs);
  req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
  req.on('error', (err) => close(err.message));
  req.on('close', () => {
    clearTimeout(deadline);
    close('connection closed');
  });
  req.on('response', (res) => {
    // The stream may stay quiet for long stretches between events: no deadline once it is open.
    clearTimeout(deadline);
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      readBoundedBody(res, (body) => {
        callbacks.onRefused(status, body);
        close(`HTTP ${status}`);
      });
      res.on('error', (err) => close(err.message));
      return;
    }
    res.on('data', (chunk: Buffer) => {
      if (!closed) callbacks.onChunk(chunk);
    });
    res.on('error', (err) => close(err.message));
    res.on('end', () => close('the agent ended the event stream'));
  });
  req.end(payload);
  return req;
}
