// What the agent's HTTP status means for a call, as the Mesos C++ executor library reads it
// (src/executor/executor.cpp:653-728) and as the agent produces it (src/slave/http.cpp:730-890).
// Pure: status in, decision out.

export type CallOutcome =
  /** 202: the agent took the call. */
  | 'accepted'
  /** 503 (recovering), 404 (routes not up yet), other 5xx, no answer: send it again later. */
  | 'retry'
  /** 403 on a call other than SUBSCRIBE: the agent does not see us subscribed ("Executor is not subscribed"). */
  | 'resubscribe'
  /** 401: the agent refused the token. */
  | 'auth'
  /** 400, 415, other 4xx, 501: deterministic; sending it again cannot help. */
  | 'rejected';

/** For UPDATE and MESSAGE calls. */
export function classifyCallStatus(status: number): CallOutcome {
  if (status >= 200 && status < 300) return 'accepted';
  if (status === 401) return 'auth';
  if (status === 403) return 'resubscribe';
  if (status === 404 || status === 503) return 'retry';
  if (status === 501) return 'rejected';
  if (status >= 500) return 'retry';
  return 'rejected';
}

/**
 * For a SUBSCRIBE the agent answered with something other than 200: 401, and 403 (refused
 * claims, or a path the domain socket does not serve), end the executor; everything else is
 * retried with the backoff until the recovery timeout, as the C++ executors keep re-subscribing.
 * `deterministic` says whether the refusal is one that will not go away by itself (logged as an error).
 */
export function classifySubscribeRefusal(status: number): { outcome: 'auth' | 'retry'; deterministic: boolean } {
  if (status === 401 || status === 403) return { outcome: 'auth', deterministic: true };
  const outcome = classifyCallStatus(status);
  return { outcome: 'retry', deterministic: outcome === 'rejected' };
}
