// The simulated agent's executor endpoint: carries out agent-rules' decision for each request,
// keeps the one executor's event stream (SUBSCRIBED, heartbeats, acknowledgements), feeds
// updates to the agent's status-update model, and records every call. The agent's lifecycle
// (restarts, the re-registration window, crashes) lives in agent-simulator.ts.
import type http from 'node:http';
import { encodeRecordIo } from '../io/mesos/recordio-stream.js';
import { isRecord, type SubscribeCallJson, type TaskStatusJson } from '../io/mesos/types.js';
import { acknowledgedEvent, heartbeatEvent, shutdownEvent, subscribedEvent, type SimIdentity } from './agent-events.js';
import { decideExecutorRequest, type AgentView, type ExecutorStateOnAgent } from './agent-rules.js';
import { AgentStatusUpdates, type ReceivedUpdate } from './agent-updates.js';
import type { ProtoMessage } from './stout-json.js';

export type Transport = 'tcp' | 'socket';

export interface RecordedCall {
  type: string;
  body: unknown;
  path: string;
  transport: Transport;
  authorization: string | undefined;
  contentType: string | undefined;
  /** The HTTP status the simulator answered (0 while unanswered). */
  status: number;
  /** The start of the answer's body (the agent explains refusals there). */
  answer: string;
}

/** What the endpoint needs from the agent around it. */
export interface EndpointHost {
  readonly identity: SimIdentity;
  readonly pidId: string;
  readonly token: string | undefined;
  readonly heartbeatIntervalMs: number;
  port(): number;
  /** recoveryInfo.reconnect and slave->state == RECOVERING. */
  recovery(): { reconnect: boolean; recovering: boolean };
  autoAck(): boolean;
  /** The agent aborts (an invalid uuid reached its log line). */
  crash(reason: string): void;
  changed(): void;
}

export class AgentEndpoint {
  readonly calls: RecordedCall[] = [];
  readonly messages: Uint8Array[] = [];
  readonly subscriptions: SubscribeCallJson[] = [];
  readonly status: AgentStatusUpdates;
  executorState: ExecutorStateOnAgent | undefined = 'REGISTERING';
  /** SUBSCRIBE requests still to read and never answer (a hung attempt). */
  swallowSubscribes = 0;
  private subscriber: http.ServerResponse | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly host: EndpointHost) {
    this.status = new AgentStatusUpdates(host.identity.agentId);
  }

  get subscribed(): boolean {
    return this.subscriber !== undefined;
  }

  /** Writes raw bytes on the event stream; false when no executor is subscribed. */
  write(bytes: Uint8Array): boolean {
    if (this.subscriber === undefined) return false;
    this.subscriber.write(bytes);
    return true;
  }

  /** Acknowledges one own update; false if it is not pending or nobody listens. */
  acknowledge(uuid: Uint8Array): boolean {
    if (this.subscriber === undefined) return false;
    const ack = this.status.acknowledge(uuid);
    if (ack === undefined) return false;
    this.write(encodeRecordIo(acknowledgedEvent(ack.taskId, ack.uuid)));
    return true;
  }

  /** Ends the event stream from the agent's side. */
  dropStream(): void {
    const res = this.subscriber;
    this.endStream();
    res?.destroy();
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, transport: Transport): void {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => this.onCall(req, res, Buffer.concat(parts).toString('utf8'), transport));
  }

  private view(transport: Transport): AgentView {
    return {
      ...this.host.recovery(),
      frameworkId: this.host.identity.frameworkId,
      executorId: this.host.identity.executorId,
      executorState: this.executorState,
      token: this.host.token,
      pidId: this.host.pidId,
      viaDomainSocket: transport === 'socket',
    };
  }

  private onCall(req: http.IncomingMessage, res: http.ServerResponse, text: string, transport: Transport): void {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const record: RecordedCall = {
      type: isRecord(body) && typeof body.type === 'string' ? body.type : '(none)',
      body,
      path: (req.url ?? '').split('?')[0] ?? '',
      transport,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      status: 0,
      answer: '',
    };
    this.calls.push(record);
    const decision = decideExecutorRequest(this.view(transport), {
      method: req.method ?? '',
      path: record.path,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      body: text,
    });
    const answer = (status: number, answerBody = '', headers: Readonly<Record<string, string>> = {}): void => {
      record.status = status;
      record.answer = answerBody.slice(0, 1024);
      res.writeHead(status, answerBody === '' ? headers : { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(answerBody);
      this.host.changed();
    };
    switch (decision.kind) {
      case 'answer':
        return answer(decision.status, decision.body, decision.headers);
      case 'subscribe':
        if (this.swallowSubscribes > 0) {
          this.swallowSubscribes -= 1; // read, never answered: the attempt hangs until the executor gives up on it
          this.host.changed();
          return;
        }
        record.status = 200;
        return this.onSubscribe(body as SubscribeCallJson, decision.call, res);
      case 'update': {
        answer(202);
        const status = (decision.call.update as ProtoMessage).status as ProtoMessage;
        return this.takeUpdate(status, (body as { update: { status: TaskStatusJson } }).update.status, 'UPDATE');
      }
      case 'message':
        this.messages.push((decision.call.message as ProtoMessage).data as Uint8Array);
        return answer(202);
    }
  }

  /** Slave::subscribe (src/slave/slave.cpp:5254-5490), for the one executor this agent runs. */
  private onSubscribe(raw: SubscribeCallJson, call: ProtoMessage, res: http.ServerResponse): void {
    this.subscriptions.push(raw);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (this.executorState === 'TERMINATING' || this.executorState === undefined) {
      res.end(encodeRecordIo(shutdownEvent()));
      return this.host.changed();
    }
    // A re-subscribing executor replaces its old stream (slave.cpp:5301-5308).
    this.dropStream();
    this.executorState = 'RUNNING';
    this.subscriber = res;
    res.on('close', () => {
      if (this.subscriber === res) this.endStream();
      this.host.changed();
    });
    this.heartbeatTimer = setInterval(() => {
      if (this.subscriber === res) res.write(encodeRecordIo(heartbeatEvent()));
    }, this.host.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    // Each carried update goes through statusUpdate() unvalidated (slave.cpp:5349-5356).
    const carried = ((call.subscribe as ProtoMessage).unacknowledged_updates as ProtoMessage[] | undefined) ?? [];
    const rawCarried = Array.isArray(raw.subscribe?.unacknowledged_updates) ? raw.subscribe.unacknowledged_updates : [];
    for (const [i, update] of carried.entries()) {
      this.takeUpdate(update.status as ProtoMessage, rawCarried[i]?.status as TaskStatusJson, 'SUBSCRIBE', false);
      if (this.subscriber !== res) return; // the agent aborted
    }
    res.write(encodeRecordIo(subscribedEvent(this.host.identity, this.host.port())));
    if (this.host.autoAck()) for (const uuid of this.status.unackedUuids()) this.acknowledge(uuid);
    this.host.changed();
  }

  private takeUpdate(parsed: ProtoMessage, raw: TaskStatusJson, via: ReceivedUpdate['via'], ack = true): void {
    const outcome = this.status.take(parsed, raw, via);
    if (outcome.kind === 'abort') return this.host.crash(outcome.reason);
    if (outcome.kind === 'shutdown-executor') {
      this.executorState = 'TERMINATING';
      this.write(encodeRecordIo(shutdownEvent()));
    } else if (outcome.kind === 'taken' && outcome.own && ack && this.host.autoAck()) {
      this.acknowledge(outcome.uuid);
    }
    this.host.changed();
  }

  private endStream(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.subscriber = undefined;
  }
}
