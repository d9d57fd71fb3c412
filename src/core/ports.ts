// Small injected ports: the decision core and the executor loop never read the clock, the
// process table or the agent connection themselves.
import type { MesosTaskState } from './states.js';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface StatusUpdate {
  taskId: string;
  state: MesosTaskState;
  message: string;
}

/** The agent connection as the executor core sees it (Mesos v1 HTTP driver, or a recording test driver). */
export interface Driver {
  sendStatusUpdate(update: StatusUpdate): void;
  /** Framework message bytes (Thrift binary SchedulerMessage). */
  sendFrameworkMessage(data: Uint8Array): void;
  /** Close the connection once pending updates had their chance; the executor then exits. */
  stop(): Promise<void>;
  /**
   * Updates not yet acknowledged by the agent. A driver that tracks acknowledgements waits for
   * them in stop(); one that cannot (undefined) gets the original's blind persistence wait.
   */
  pendingAcks?(): number;
}
