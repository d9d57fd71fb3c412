// One SUBSCRIBE attempt and, if it succeeds, the subscription it becomes: the RecordIO event
// stream decoded into JSON events, and two promises — whether it got SUBSCRIBED, and when it ended.
import type http from 'node:http';
import { errorMessage } from '../../errors.js';
import { openSubscribeStream } from './agent-http.js';
import { classifySubscribeRefusal } from './call-outcome.js';
import type { MesosExecutorEnv } from './env.js';
import { RecordIoDecoder } from './recordio-stream.js';
import type { SubscribeCallJson } from './types.js';

export type AttemptResult = 'subscribed' | 'failed' | 'auth';
/** Why a subscription ended: the stream closed, an ERROR event, or a call answered 403 (not subscribed). */
export type LossCause = 'disconnect' | 'error' | 'resubscribe';

export interface SubscriptionHooks {
  /** Each decoded event, in order; the driver calls markSubscribed() on SUBSCRIBED. */
  onEvent(raw: unknown): void;
  /** The agent answered 401/403. */
  onAuthRefused(status: number, body: string): void;
  /** The agent answered something else than 200 (logged by the driver); `deterministic`: it will not go away by itself. */
  onRefused(status: number, body: string, deterministic: boolean): void;
  /** The stream is gone; `wasUp` tells whether it had been SUBSCRIBED. Not called after close(). */
  onClosed(reason: string, wasUp: boolean): void;
  /** The stream could not be decoded; it is closed and onClosed follows. */
  onUnreadable(message: string): void;
}

export interface SubscriptionOptions {
  connectTimeoutMs: number;
  maxEventBytes: number | undefined;
}

export class Subscription {
  readonly result: Promise<AttemptResult>;
  readonly lost: Promise<LossCause>;
  private up = false;
  private closedByUs = false;
  private answeredOrHung = false;
  private settle: (result: AttemptResult) => void = () => undefined;
  private resolveLost: (cause: LossCause) => void = () => undefined;
  private readonly request: http.ClientRequest;

  constructor(env: MesosExecutorEnv, call: SubscribeCallJson, options: SubscriptionOptions, hooks: SubscriptionHooks) {
    let settled = false;
    this.result = new Promise<AttemptResult>((resolve) => {
      this.settle = (result) => {
        if (!settled) { settled = true; resolve(result); }
      };
    });
    this.lost = new Promise<LossCause>((resolve) => { this.resolveLost = resolve; });
    const decoder = new RecordIoDecoder(options.maxEventBytes === undefined ? {} : { maxRecordBytes: options.maxEventBytes });
    this.request = openSubscribeStream(env, call, options.connectTimeoutMs, {
      onRefused: (status, body) => {
        this.answeredOrHung = true;
        if (this.closedByUs) return;
        const refusal = classifySubscribeRefusal(status);
        if (refusal.outcome === 'auth') {
          this.settle('auth');
          hooks.onAuthRefused(status, body);
        } else {
          hooks.onRefused(status, body, refusal.deterministic);
        }
      },
      onChunk: (chunk) => {
        try {
          for (const event of decoder.feed(chunk)) {
            if (this.closedByUs) return;
            hooks.onEvent(event);
          }
        } catch (err) {
          if (this.closedByUs) return;
          hooks.onUnreadable(errorMessage(err));
          this.request.destroy();
        }
      },
      onClosed: (reason, timedOut) => {
        if (timedOut) this.answeredOrHung = true;
        const wasUp = this.up;
        this.up = false;
        this.settle('failed');
        this.resolveLost('disconnect');
        if (!this.closedByUs) hooks.onClosed(reason, wasUp);
      },
    });
  }

  /**
   * The attempt failed although the agent took the connection: it answered something other
   * than 200 (503 while recovering, ...), or never answered within the deadline. A connection
   * refused or reset leaves this false.
   */
  get agentReached(): boolean {
    return this.answeredOrHung;
  }

  /** True between SUBSCRIBED and the end of the stream. */
  get isUp(): boolean {
    return this.up;
  }

  markSubscribed(): void {
    if (this.closedByUs) return;
    this.up = true;
    this.settle('subscribed');
  }

  /** Ends the subscription from our side (ERROR event, or the driver is done); no hooks follow. */
  close(cause: LossCause): void {
    this.closedByUs = true;
    this.up = false;
    this.settle('failed');
    this.resolveLost(cause);
    this.request.destroy();
  }
}
