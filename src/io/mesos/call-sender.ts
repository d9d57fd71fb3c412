// Delivers the ledger's outbox to the agent, one POST at a time and in order, while subscribed,
// and acts on each answer (call-outcome.ts): 202 settles the call; a rejected call is dropped
// with an error log and counted, and the calls behind it go on; 503/404/5xx and network failures
// are retried after a backoff; 403 asks for a re-subscription; 401 ends the executor.
import type http from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../../core/ports.js';
import { errorMessage } from '../../errors.js';
import { postCall } from './agent-http.js';
import { classifyCallStatus, type CallOutcome } from './call-outcome.js';
import type { MesosExecutorEnv } from './env.js';
import type { Outgoing, UpdateLedger } from './update-ledger.js';
import type { ExecutorCallJson, TaskStatusJson } from './types.js';

export interface CallSenderHooks {
  /** Subscribed right now, and which subscription that is (a failure on an older one retries at once). */
  subscription(): object | undefined;
  /** 401 on a call. */
  onAuthRefused(status: number, body: string): void;
  /** 403 on a call: the agent does not see this executor subscribed. */
  onNotSubscribed(body: string): void;
  /** A call settled (delivered or dropped): waiters on the outbox may look again. */
  onChange(): void;
  /** How long to wait before retrying a call the agent could not take now. */
  backoffMs(): number;
}

export interface CallStats {
  /** Calls the agent refused for good (400, 415, other 4xx, 501): dropped, never resent. */
  callsRejected: number;
  /** Updates about tasks this executor does not own that the agent accepted (then forgotten). */
  foreignUpdatesSent: number;
}

export class CallSender {
  readonly stats: CallStats = { callsRejected: 0, foreignUpdatesSent: 0 };
  private sending = false;
  private retryScheduled = false;

  constructor(
    private readonly env: MesosExecutorEnv,
    private readonly ledger: UpdateLedger,
    private readonly agent: http.Agent,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly requestTimeoutMs: number,
    private readonly lifetime: AbortSignal,
    private readonly hooks: CallSenderHooks,
  ) {}

  /** Sends what the outbox holds, in order, until it is empty or a call must wait. */
  async flush(): Promise<void> {
    if (this.sending || this.lifetime.aborted) return;
    this.sending = true;
    try {
      for (;;) {
        const sub = this.hooks.subscription();
        if (sub === undefined || this.lifetime.aborted) return;
        const next = this.ledger.next();
        if (next === undefined) return;
        const call = this.callFor(next.item, next.status);
        let outcome: CallOutcome;
        let detail: string;
        try {
          const res = await postCall(this.env, this.agent, call, this.requestTimeoutMs);
          outcome = classifyCallStatus(res.status);
          detail = `HTTP ${res.status}${res.body === '' ? '' : `: ${res.body}`}`;
          if (outcome === 'auth') return this.hooks.onAuthRefused(res.status, res.body);
        } catch (err) {
          outcome = 'retry';
          detail = errorMessage(err);
        }
        if (this.lifetime.aborted) return;
        if (outcome === 'accepted' || outcome === 'rejected') {
          this.settle(next.item, next.status, outcome, detail);
          continue;
        }
        if (outcome === 'resubscribe') {
          this.log.warn({ call: call.type, answer: detail }, 'the agent does not see the executor subscribed: re-subscribing');
          this.hooks.onNotSubscribed(detail);
          return;
        }
        this.log.warn({ call: call.type, failure: detail }, 'the agent could not take the call now: will retry');
        // A stale failure (the stream was replaced meanwhile) retries at once on the new one.
        if (sub !== this.hooks.subscription()) continue;
        this.scheduleRetry();
        return;
      }
    } finally {
      this.sending = false;
    }
  }

  private settle(item: Outgoing, status: TaskStatusJson | undefined, outcome: 'accepted' | 'rejected', detail: string): void {
    if (outcome === 'accepted') {
      this.ledger.delivered(item);
      if (item.kind === 'update' && !item.own) this.stats.foreignUpdatesSent += 1;
    } else {
      this.ledger.rejected(item);
      this.stats.callsRejected += 1;
      this.log.error({
        call: item.kind === 'update' ? 'UPDATE' : 'MESSAGE',
        taskId: status?.task_id.value,
        state: status?.state,
        uuid: item.kind === 'update' ? item.uuid : undefined,
        answer: detail,
      }, 'the agent rejected the call: dropped, it will not be sent again');
    }
    this.hooks.onChange();
  }

  private callFor(item: Outgoing, status: TaskStatusJson | undefined): ExecutorCallJson {
    const base = { framework_id: { value: this.env.frameworkId }, executor_id: { value: this.env.executorId } };
    if (item.kind === 'message' || status === undefined) {
      return { type: 'MESSAGE', ...base, message: { data: item.kind === 'message' ? item.data : '' } };
    }
    return { type: 'UPDATE', ...base, update: { status } };
  }

  private scheduleRetry(): void {
    if (this.retryScheduled) return;
    this.retryScheduled = true;
    void this.clock.sleep(this.hooks.backoffMs(), this.lifetime).then(() => {
      this.retryScheduled = false;
      void this.flush();
    });
  }
}
