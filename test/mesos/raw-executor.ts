// A hand-written executor client for simulator tests, independent of the driver: raw POSTs and a
// raw SUBSCRIBE stream over TCP or a Unix socket.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { RecordIoDecoder } from '../../src/io/mesos/recordio-stream.js';
import type { AgentSimulator } from '../../src/sim/agent-simulator.js';

export type Target = { host: string; port: number } | { socketPath: string };

export function tcp(sim: AgentSimulator): Target {
  return { host: '127.0.0.1', port: sim.port };
}

export function post(target: Target, body: string, path = '/api/v1/executor', headers: http.OutgoingHttpHeaders = {}):
  Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, method: 'POST', path, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface RawStream {
  status: number;
  events: { type: string; [key: string]: unknown }[];
  closed: boolean;
  close(): void;
}

/** Opens SUBSCRIBE; resolves once response headers arrived. */
export function subscribe(target: Target, body: string, path = '/api/v1/executor'): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const decoder = new RecordIoDecoder();
    const req = http.request({ ...target, method: 'POST', path, headers: { 'Content-Type': 'application/json', Accept: 'application/json' } }, (res) => {
      const stream: RawStream = { status: res.statusCode ?? 0, events: [], closed: false, close: () => req.destroy() };
      res.on('data', (d: Buffer) => {
        for (const e of decoder.feed(d)) stream.events.push(e as RawStream['events'][number]);
      });
      res.on('error', () => undefined);
      res.on('close', () => { stream.closed = true; });
      resolve(stream);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function uuidV4(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
}

export function calls(sim: AgentSimulator) {
  const ids = { framework_id: { value: sim.frameworkId }, executor_id: { value: sim.executorId } };
  const status = (taskId: string, over: Record<string, unknown> = {}) => ({
    task_id: { value: taskId }, state: 'TASK_FINISHED', source: 'SOURCE_EXECUTOR', uuid: uuidV4(), ...over,
  });
  return {
    status,
    subscribe: (updates: unknown[] = [], tasks: unknown[] = []) =>
      JSON.stringify({ type: 'SUBSCRIBE', ...ids, subscribe: { unacknowledged_tasks: tasks, unacknowledged_updates: updates } }),
    update: (s: unknown) => JSON.stringify({ type: 'UPDATE', ...ids, update: { status: s } }),
  };
}
