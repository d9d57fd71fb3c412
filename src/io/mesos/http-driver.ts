// The Mesos v1 executor HTTP API driver (domain.md §7): one SUBSCRIBE stream of RecordIO events,
// UPDATE and MESSAGE calls in order on a keep-alive connection, every update kept until the agent
// acknowledges it, and resubscription with backoff (bounded by the recovery timeout) when the
// framework checkpoints.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { Clock, Driver, StatusUpdate } from '../../core/ports.js';
import { ThermosGcError, errorMessage } from '../../errors.js';
import { postCall } from './agent-http.js';
import type { MesosExecutorEnv } from './env.js';
import { Subscription, type LossCause } from './subscription.js';
import { systemClock } from '../system-clock.js';
import { UpdateLedger, type Outgoing } from './update-ledger.js';
import { decodeExecutorEvent } from './events.js';
import {
  encodeBase64, type ExecutorCallJson, type IdJson, type SubscribeCallJson, type SubscribedJson, type TaskInfoJson,
  type TaskStatusJson,
} from './types.js';

export interface MesosEventHandler {
  onSubscribed?(info: SubscribedJson): void;
  /** `data` is null when the task's base64 data is malformed (answer TASK_FAILED); absent data is empty. */
  onLaunch(taskId: string, data: Uint8Array | null, task: TaskInfoJson): void;
  onKill(taskId: string): void;
  onShutdown(): void;
  onMessage?(data: Uint8Array): void;
  onError?(message: string): void;
}

export interface MesosHttpDriverOptions {
  /** @default the system clock */
  clock?: Clock;
  /** @default a silent logger */
  logger?: Logger;
  /** @default 5 s: how long stop() waits for outstanding acknowledgements. */
  persistenceWaitMs?: number;
  /** @default 100 ms: the first resubscription wait; it doubles up to MESOS_SUBSCRIPTION_BACKOFF_MAX. */
  initialBackoffMs?: number;
  /** @default 10 s: a call or SUBSCRIBE without response headers within this has failed. */
  requestTimeoutMs?: number;
  /** @default 256 MiB: the largest event accepted. */
  maxEventBytes?: number;
}

export const DRIVER_EXIT_OK = 0;
export const DRIVER_EXIT_FAILED = 1;
const LAUNCH_GROUP_REFUSAL = 'the Thermos GC executor does not run task groups';

type Lifecycle = 'running' | 'stopping' | 'done';
type ReconnectCause = 'initial' | LossCause;

export class MesosHttpDriver implements Driver {
  readonly done: Promise<number>;
  private resolveDone: (code: number) => void = () => undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly persistenceWaitMs: number;
  private readonly initialBackoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxEventBytes: number | undefined;
  private readonly callAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  /** Aborted when the driver is done: every sleep and wait ends early. */
  private readonly lifetime = new AbortController();

  private lifecycle: Lifecycle = 'running';
  /** The current SUBSCRIBE attempt or subscription; events of older ones are ignored. */
  private current: Subscription | undefined;
  private sending = false;
  private retryScheduled = false;
  private backoffMs: number;
  private startWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;

  private readonly ledger = new UpdateLedger();
  private readonly changeWaiters = new Set<() => void>();

  constructor(
    private readonly env: MesosExecutorEnv,
    private readonly handler: MesosEventHandler,
    options: MesosHttpDriverOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? pino({ level: 'silent' });
    this.persistenceWaitMs = options.persistenceWaitMs ?? 5_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.maxEventBytes = options.maxEventBytes;
    this.backoffMs = this.initialBackoffMs;
    this.done = new Promise<number>((resolve) => { this.resolveDone = resolve; });
  }

  /** Subscribes; resolves on SUBSCRIBED, rejects (ERR_AGENT) when the driver gives up first. */
  start(): Promise<void> {
    if (this.startPromise !== undefined) return this.startPromise;
    this.startPromise = new Promise<void>((resolve, reject) => { this.startWaiter = { resolve, reject }; });
    this.startPromise.catch(() => undefined); // the caller may only watch `done`
    void this.supervise();
    return this.startPromise;
  }

  /** True while subscribed (between SUBSCRIBED and the end of that stream). */
  get connected(): boolean {
    return this.isUp();
  }

  pendingAcks(): number {
    return this.ledger.pendingCount;
  }

  sendStatusUpdate(update: StatusUpdate): void {
    if (this.isDone()) {
      this.log.warn({ taskId: update.taskId, state: update.state }, 'status update after the driver closed: not sent');
      return;
    }
    const uuid = randomBytes(16).toString('base64');
    this.ledger.addUpdate({
      task_id: { value: update.taskId },
      state: update.state,
      source: 'SOURCE_EXECUTOR',
      uuid,
      message: update.message,
      timestamp: this.clock.now() / 1000,
      executor_id: this.executorIdJson(),
    });
    this.log.info({ taskId: update.taskId, state: update.state, uuid, connected: this.isUp() }, 'status update');
    void this.flush();
  }

  sendFrameworkMessage(data: Uint8Array): void {
    if (this.isDone()) {
      this.log.warn({ bytes: data.byteLength }, 'framework message after the driver closed: not sent');
      return;
    }
    this.ledger.addMessage(encodeBase64(data));
    void this.flush();
  }

  /** Waits (at most the persistence wait) for deliveries and acknowledgements, then closes. */
  stop(): Promise<void> {
    if (this.stopPromise !== undefined) return this.stopPromise;
    if (this.isDone()) return Promise.resolve();
    this.lifecycle = 'stopping';
    this.stopPromise = (async () => {
      const deadline = this.clock.now() + this.persistenceWaitMs;
      while (this.lifecycle === 'stopping' && this.owesAgent()) {
        const left = deadline - this.clock.now();
        if (left <= 0) break;
        await this.waitForChange(left);
      }
      if (this.owesAgent()) {
        this.log.warn({ unacknowledged: this.ledger.pendingCount, undelivered: this.ledger.undeliveredCount },
          'closing the agent connection with updates not yet acknowledged');
      }
      this.finish(DRIVER_EXIT_OK, 'driver stopped');
    })();
    return this.stopPromise;
  }

  // ---- subscription ----

  /** Keeps one subscription alive: establish, wait until it is lost, establish again. */
  private async supervise(): Promise<void> {
    let cause: ReconnectCause = 'initial';
    while (!this.isDone()) {
      const lost = await this.establish(cause);
      if (lost === undefined) return;
      cause = await lost;
    }
  }

  /**
   * Subscribes, retrying with backoff while the framework checkpoints and the recovery timeout
   * allows. Resolves with a promise of the subscription's loss, or undefined when the driver is done.
   */
  private async establish(cause: ReconnectCause): Promise<Promise<ReconnectCause> | undefined> {
    if (cause === 'disconnect' && !this.env.checkpoint) {
      this.finish(DRIVER_EXIT_FAILED, 'lost the agent connection and the framework does not checkpoint: exiting');
      return undefined;
    }
    const since = this.clock.now();
    let attempts = 0;
    while (!this.isDone()) {
      // After a loss, wait before the first attempt too: an agent that answers every
      // subscription with ERROR must not be hammered.
      if (attempts > 0 || cause !== 'initial') {
        if (attempts > 0 && !this.env.checkpoint) {
          this.finish(DRIVER_EXIT_FAILED, 'could not subscribe to the agent and the framework does not checkpoint: exiting');
          return undefined;
        }
        const left = since + this.env.recoveryTimeoutMs - this.clock.now();
        if (left <= 0) {
          this.finish(DRIVER_EXIT_FAILED,
            `the agent did not accept a subscription within the recovery timeout (${this.env.recoveryTimeoutMs} ms): exiting`);
          return undefined;
        }
        const wait = Math.min(this.backoffMs, this.env.subscriptionBackoffMaxMs, left);
        this.backoffMs = Math.min(this.backoffMs * 2, Math.max(this.env.subscriptionBackoffMaxMs, 1));
        await this.clock.sleep(wait, this.lifetime.signal);
        if (this.isDone()) return undefined;
      }
      attempts += 1;
      const attempt = this.subscribe();
      const result = await attempt.result;
      if (result === 'auth') return undefined; // finish() already ran
      if (result === 'subscribed') {
        // Repeated ERROR → resubscribe cycles keep growing the wait; a clean subscription resets it.
        if (cause !== 'error') this.backoffMs = this.initialBackoffMs;
        return attempt.lost;
      }
    }
    return undefined;
  }

  private subscribe(): Subscription {
    const owed = this.ledger.takeForSubscribe();
    const call: SubscribeCallJson = {
      type: 'SUBSCRIBE',
      framework_id: { value: this.env.frameworkId },
      executor_id: this.executorIdJson(),
      subscribe: { unacknowledged_tasks: owed.tasks, unacknowledged_updates: owed.updates },
    };
    this.log.info({ unacknowledgedTasks: owed.tasks.length, unacknowledgedUpdates: owed.updates.length },
      'subscribing to the agent');
    const options = { connectTimeoutMs: this.requestTimeoutMs, maxEventBytes: this.maxEventBytes };
    const sub: Subscription = new Subscription(this.env, call, options, {
      onEvent: (raw) => {
        if (sub === this.current && !this.isDone()) this.handleEvent(raw, sub);
      },
      onAuthRefused: (status, body) => this.authFailure(status, body),
      onRefused: (status, body) => this.log.warn({ status, body }, 'the agent refused SUBSCRIBE'),
      onUnreadable: (message) => this.log.error({ message }, 'unreadable event stream from the agent: reconnecting'),
      onClosed: (reason, wasUp) => {
        if (sub !== this.current) return;
        this.notifyChange();
        if (wasUp) this.log.warn({ reason, checkpoint: this.env.checkpoint }, 'disconnected from the agent');
        else this.log.warn({ reason }, 'subscription to the agent failed');
      },
    });
    this.current = sub;
    return sub;
  }

  // ---- events ----

  private handleEvent(raw: unknown, sub: Subscription): void {
    const event = decodeExecutorEvent(raw);
    switch (event.type) {
      case 'SUBSCRIBED':
        this.log.info({ unacknowledged: this.ledger.pendingCount, undelivered: this.ledger.undeliveredCount }, 'SUBSCRIBED');
        sub.markSubscribed();
        this.startWaiter?.resolve();
        this.startWaiter = undefined;
        this.callHandler('onSubscribed', () => this.handler.onSubscribed?.(event.info));
        this.notifyChange();
        void this.flush();
        return;
      case 'LAUNCH':
        this.ledger.noteLaunched(event.task);
        this.log.info({ taskId: event.taskId, bytes: event.data?.byteLength ?? null }, 'LAUNCH');
        return this.callHandler('onLaunch', () => this.handler.onLaunch(event.taskId, event.data, event.task));
      case 'LAUNCH_GROUP':
        for (const task of event.tasks) {
          this.ledger.noteLaunched(task);
          this.sendStatusUpdate({ taskId: task.task_id.value, state: 'TASK_FAILED', message: LAUNCH_GROUP_REFUSAL });
        }
        return;
      case 'KILL':
        this.log.info({ taskId: event.taskId }, 'KILL');
        return this.callHandler('onKill', () => this.handler.onKill(event.taskId));
      case 'ACKNOWLEDGED': {
        const status = this.ledger.acknowledge(event.taskId, event.uuid);
        this.log.debug({ taskId: event.taskId, uuid: event.uuid, state: status?.state }, 
          status === undefined ? 'ACKNOWLEDGED for no pending update' : 'ACKNOWLEDGED');
        if (status !== undefined) this.notifyChange();
        return;
      }
      case 'MESSAGE':
        return this.callHandler('onMessage', () => this.handler.onMessage?.(event.data));
      case 'SHUTDOWN':
        this.log.info('SHUTDOWN from the agent');
        return this.callHandler('onShutdown', () => this.handler.onShutdown());
      case 'ERROR':
        this.log.error({ message: event.message }, 'ERROR event from the agent: resubscribing');
        this.callHandler('onError', () => this.handler.onError?.(event.message));
        return sub.close('error');
      case 'HEARTBEAT':
        return this.log.debug('HEARTBEAT');
      case 'IGNORED':
        if (event.malformed) this.log.warn({ type: event.eventType, reason: event.reason }, 'malformed event ignored');
        else this.log.debug({ type: event.eventType }, 'unknown event type ignored');
        return;
    }
  }

  // ---- calls ----

  /** Delivers the outbox in order while subscribed; one call at a time keeps updates ordered. */
  private async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.isUp() && !this.isDone()) {
        const next = this.ledger.next();
        if (next === undefined) break;
        const call = this.callFor(next.item, next.status);
        const sub = this.current;
        let failure: string | undefined;
        try {
          const res = await postCall(this.env, this.callAgent, call, this.requestTimeoutMs);
          if (res.status === 401 || res.status === 403) { this.authFailure(res.status, res.body); return; }
          if (res.status !== 202) failure = `HTTP ${res.status}: ${res.body}`;
        } catch (err) {
          failure = errorMessage(err);
        }
        if (failure !== undefined) {
          this.log.warn({ call: call.type, failure }, 'call to the agent failed: will retry');
          // A stale failure (the stream was replaced meanwhile) retries at once on the new one.
          if (sub !== this.current) continue;
          this.scheduleRetry();
          return;
        }
        this.ledger.delivered(next.item);
        this.notifyChange();
      }
    } finally {
      this.sending = false;
    }
  }

  private callFor(item: Outgoing, status: TaskStatusJson | undefined): ExecutorCallJson {
    const base = { framework_id: { value: this.env.frameworkId }, executor_id: this.executorIdJson() };
    if (item.kind === 'message' || status === undefined) {
      return { type: 'MESSAGE', ...base, message: { data: item.kind === 'message' ? item.data : '' } };
    }
    return { type: 'UPDATE', ...base, update: { status } };
  }

  private scheduleRetry(): void {
    if (this.retryScheduled) return;
    this.retryScheduled = true;
    const wait = Math.min(this.backoffMs, this.env.subscriptionBackoffMaxMs);
    void this.clock.sleep(wait, this.lifetime.signal).then(() => {
      this.retryScheduled = false;
      void this.flush();
    });
  }

  // ---- helpers ----

  private authFailure(status: number, body: string): void {
    this.finish(DRIVER_EXIT_FAILED, `authentication failure: the agent refused the executor's token (HTTP ${status})`, { body });
  }

  private isUp(): boolean {
    return this.current?.isUp === true;
  }

  private isDone(): boolean {
    return this.lifecycle === 'done';
  }

  private owesAgent(): boolean {
    return this.ledger.pendingCount > 0 || this.ledger.undeliveredCount > 0;
  }

  private executorIdJson(): IdJson {
    return { value: this.env.executorId };
  }

  private callHandler(name: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ handler: name, err: errorMessage(err) }, 'event handler threw');
    }
  }

  private async waitForChange(ms: number): Promise<void> {
    const wake = new AbortController();
    const onChange = (): void => wake.abort();
    this.changeWaiters.add(onChange);
    try {
      await this.clock.sleep(ms, AbortSignal.any([wake.signal, this.lifetime.signal]));
    } finally {
      this.changeWaiters.delete(onChange);
    }
  }

  private notifyChange(): void {
    for (const waiter of [...this.changeWaiters]) waiter();
  }

  private finish(code: number, reason: string, extra: Record<string, unknown> = {}): void {
    if (this.isDone()) return;
    this.lifecycle = 'done';
    if (code === DRIVER_EXIT_OK) this.log.info({ code, ...extra }, reason);
    else this.log.error({ code, unacknowledged: this.ledger.pendingCount, ...extra }, reason);
    this.lifetime.abort();
    this.current?.close('disconnect');
    this.callAgent.destroy();
    if (this.startWaiter !== undefined) {
      this.startWaiter.reject(new ThermosGcError('ERR_AGENT', reason));
      this.startWaiter = undefined;
    }
    this.notifyChange();
    this.resolveDone(code);
  }
}
