// A Driver that records what the executor sends, in order.
import type { Driver, StatusUpdate } from '../../src/core/ports.js';

export type DriverEvent =
  | { kind: 'update'; update: StatusUpdate }
  | { kind: 'message'; data: Uint8Array }
  | { kind: 'stop' };

export class RecordingDriver implements Driver {
  readonly events: DriverEvent[] = [];
  stopped = false;

  sendStatusUpdate(update: StatusUpdate): void {
    this.events.push({ kind: 'update', update: { ...update } });
  }

  sendFrameworkMessage(data: Uint8Array): void {
    this.events.push({ kind: 'message', data: Uint8Array.from(data) });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events.push({ kind: 'stop' });
  }

  get updates(): StatusUpdate[] {
    return this.events.flatMap((e) => (e.kind === 'update' ? [e.update] : []));
  }

  get messages(): Uint8Array[] {
    return this.events.flatMap((e) => (e.kind === 'message' ? [e.data] : []));
  }

  updatesFor(taskId: string): StatusUpdate[] {
    return this.updates.filter((u) => u.taskId === taskId);
  }
}
