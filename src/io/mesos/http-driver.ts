// The Mesos v1 executor HTTP API driver (domain.md §7): one SUBSCRIBE stream of RecordIO events,
// UPDATE and MESSAGE calls in order on a keep-alive connection (call-sender.ts), updates about
// the executor's own tasks kept until acknowledged and the others until accepted
// (update-ledger.ts), and re-subscription with the C++ library's backoff (bounded by the
// recovery timeout) when the framework checkpoints.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { Clock, Driver, StatusUpdate } from '../../core/ports.js';
import { ThermosGcError, errorMessage } from '../../errors.js';
import { CallSender, type CallStats } from './call-sender.js';
import type { MesosExecutorEnv } from './env.js';
import { Subscription, type LossCause } from './subscription.js';
import { systemClock } from '../system-clock.js';
import { UpdateLedger } from './update-ledger.js';
import { decodeExecutorEvent } from './events.js';
import {
  decodeBase64Strict, encodeBase64, type IdJson, type SubscribeCallJson, type SubscribedJson, type TaskInfoJson,
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
  /** @default 5 s: how long stop() waits for outstanding acknowledgements and deliveries. */
  persistenceWaitMs?: number;
  /** @default Math.random: each backoff is random() × MESOS_SUBSCRIPTION_BACKOFF_MAX. */
  random?: () => number;
  /** @default 10 s: an UPDATE or MESSAGE without a response within this has failed (and is retried). */
  requestTimeoutMs?: number;
  /**
   * @default half of MESOS_SUBSCRIPTION_BACKOFF_MAX (at least 100 ms, at most requestTimeoutMs):
   * a SUBSCRIBE without response headers within this is abandoned and retried.
   */
  subscribeTimeoutMs?: number;
  /** @default 256 MiB: the largest event accepted. */
  maxEventBytes?: number;
}

export const DRIVER_EXIT_OK = 0;
export const DRIVER_EXIT_FAILED = 1;
const LAUNCH_GROUP_REFUSAL = 'the Thermos GC executor does not run task groups';
const MIN_SUBSCRIBE_TIMEOUT_MS = 100;
/** While the agent is up but has not subscribed us, attempts come this many times per backoff max. */
const RESUBSCRIBE_SHARE = 4;

type Lifecycle = 'running' | 'stopping' | 'done';
type ReconnectCause = 'initial' | LossCause;

/** A status update uuid: RFC 4122 version 4 (what the agent's id::UUID::fromBytes accepts), 16 raw bytes in base64. */
export function newStatusUuid(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
}

export class MesosHttpDriver implements Driver {
  readonly done: Promise<number>;
  private resolveDone: (code: number) => void = () => undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly persistenceWaitMs: number;
  private readonly random: () => number;
  private readonly subscribeTimeoutMs: number;
  private readonly maxEventBytes: number | undefined;
  private readonly callAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  /** Aborted when the driver is done: every sleep and wait ends early. */
  private readonly lifetime = new AbortController();
  private readonly sender: CallSender;

  private lifecycle: Lifecycle = 'running';
  /** The current SUBSCRIBE attempt or subscription; events of older ones are ignored. */
  private current: Subscription | undefined;
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
    this.random = options.random ?? Math.random;
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    // No single attempt may eat the re-registration window (= MESOS_SUBSCRIPTION_BACKOFF_MAX):
    // while the agent is reachable, attempts start at most a quarter of it apart (see
    // establish()), and each gives up after that long, so even a window whose first attempts
    // hang gets one that is answered.
    this.subscribeTimeoutMs = options.subscribeTimeoutMs
      ?? Math.min(requestTimeoutMs, Math.max(MIN_SUBSCRIBE_TIMEOUT_MS, env.subscriptionBackoffMaxMs / RESUBSCRIBE_SHARE));
    this.maxEventBytes = options.maxEventBytes;
    this.done = new Promise<number>((resolve) => { this.resolveDone = resolve; });
    this.sender = new CallSender(env, this.ledger, this.callAgent, this.clock, this.log, requestTimeoutMs, this.lifetime.signal, {
      subscription: () => (this.isUp() && !this.isDone() ? this.current : undefined),
      onAuthRefused: (status, body) => this.authFailure(status, body),
      onNotSubscribed: () => this.current?.close('resubscribe'),
      onChange: () => this.notifyChange(),
      backoffMs: () => this.drawBackoff(),
    });
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

  /** Updates about the executor's own tasks not yet acknowledged (updates about others are never acknowledged to it). */
  pendingAcks(): number {
    return this.ledger.pendingCount;
  }

  /** Calls not yet delivered. */
  undelivered(): number {
    return this.ledger.undeliveredCount;
  }

  callStats(): Readonly<CallStats> {
    return this.sender.stats;
  }

  sendStatusUpdate(update: StatusUpdate): void {
    if (this.isDone()) {
      this.log.warn({ taskId: update.taskId, state: update.state }, 'status update after the driver closed: not sent');
      return;
    }
    const uuid = newStatusUuid();
    const own = this.ledger.addUpdate({
      task_id: { value: update.taskId },
      state: update.state,
      source: 'SOURCE_EXECUTOR',
      uuid,
      message: update.message,
      timestamp: this.clock.now() / 1000,
      executor_id: this.executorIdJson(),
    });
    this.log.info({ taskId: update.taskId, state: update.state, uuid, own, connected: this.isUp() }, 'status update');
    void this.sender.flush();
  }

  sendFrameworkMessage(data: Uint8Array): void {
    if (this.isDone()) {
      this.log.warn({ bytes: data.byteLength }, 'framework message after the driver closed: not sent');
      return;
    }
    this.ledger.addMessage(encodeBase64(data));
    void this.sender.flush();
  }

  /** Waits (at most the persistence wait) for deliveries and own acknowledgements, then closes. */
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
          'closing the agent connection with updates not yet acknowledged or calls not yet delivered');
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
   * One backoff, uniform in [0, MESOS_SUBSCRIPTION_BACKOFF_MAX]: the C++ library's reconnect
   * backoff (src/executor/executor.cpp:575-593). With `agentReached` (the agent answered the last
   * SUBSCRIBE with something other than 200, or hung), uniform in [0, max / 4]: the C++ executors
   * re-send SUBSCRIBE every second while connected (src/launcher/executor.cpp:386-414, half the
   * default max); a quarter leaves room for a hung attempt inside the re-registration window.
   */
  private drawBackoff(agentReached = false): number {
    const max = this.env.subscriptionBackoffMaxMs / (agentReached ? RESUBSCRIBE_SHARE : 1);
    return Math.max(0, Math.min(1, this.random())) * max;
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
    // Each wait runs from the start of the previous attempt, as the library schedules its next
    // backoff() when it starts connect(): with attempts bounded by subscribeTimeoutMs, attempts
    // start at most one backoff max apart while the agent is down, and a quarter of it while it
    // recovers (503) or hangs, so several land in every re-registration window.
    let lastStart = since;
    let agentReached = false;
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
        const wait = Math.min(left, Math.max(0, lastStart + this.drawBackoff(agentReached) - this.clock.now()));
        await this.clock.sleep(wait, this.lifetime.signal);
        if (this.isDone()) return undefined;
      }
      attempts += 1;
      lastStart = this.clock.now();
      const attempt = this.subscribe();
      const result = await attempt.result;
      if (result === 'auth') return undefined; // finish() already ran
      if (result === 'subscribed') return attempt.lost;
      agentReached = attempt.agentReached;
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
    const options = { connectTimeoutMs: this.subscribeTimeoutMs, maxEventBytes: this.maxEventBytes };
    const sub: Subscription = new Subscription(this.env, call, options, {
      onEvent: (raw) => {
        if (sub === this.current && !this.isDone()) this.handleEvent(raw, sub);
      },
      onAuthRefused: (status, body) => this.authFailure(status, body),
      onRefused: (status, body, deterministic) => {
        if (deterministic) this.log.error({ status, body }, 'the agent refused SUBSCRIBE: will retry');
        else this.log.warn({ status, body }, 'the agent could not take SUBSCRIBE now: will retry');
      },
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
        void this.sender.flush();
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
        // The agent writes the bytes back in standard padded base64, as they were sent; normalise anyway.
        const bytes = decodeBase64Strict(event.uuid);
        const uuid = bytes === null ? event.uuid : encodeBase64(bytes);
        const status = this.ledger.acknowledge(event.taskId, uuid);
        this.log.debug({ taskId: event.taskId, uuid, state: status?.state },
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
        // A real agent never sends ERROR (the C++ library injects it locally); treat one as a broken stream.
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

  /** Own updates awaiting ACKNOWLEDGED, or calls not yet delivered; never acknowledgements of foreign updates. */
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
