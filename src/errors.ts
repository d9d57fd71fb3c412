// Typed errors with a stable code and the path or task id they concern. Errors do not survive
// crossing a worker thread, so workers send `toErrorRecord()` and the main thread rebuilds.

export type ErrorCode =
  | 'ERR_CKPT_TRUNCATED'
  | 'ERR_CKPT_RECORD_TOO_LARGE'
  | 'ERR_CKPT_BAD_TYPE'
  | 'ERR_CKPT_EMPTY_UNION'
  | 'ERR_CKPT_BAD_VALUE'
  | 'ERR_CKPT_DEPTH'
  | 'ERR_CKPT_MISSING'
  | 'ERR_CKPT_IO'
  | 'ERR_REPLAY'
  | 'ERR_MESSAGE_DECODE'
  | 'ERR_UNSAFE_PATH'
  | 'ERR_UNSAFE_TASK_ID'
  | 'ERR_DELETE'
  | 'ERR_LOCK'
  | 'ERR_KILL'
  | 'ERR_CONFIG'
  | 'ERR_USAGE'
  | 'ERR_AGENT'
  | 'ERR_WORKER'
  | 'ERR_MESOS_ROOT_MISSING';

export interface ErrorRecord {
  code: ErrorCode;
  message: string;
  taskId?: string;
  path?: string;
}

export class ThermosGcError extends Error {
  readonly code: ErrorCode;
  readonly taskId: string | undefined;
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, details: { taskId?: string; path?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ThermosGcError';
    this.code = code;
    this.taskId = details.taskId;
    this.path = details.path;
  }

  toErrorRecord(): ErrorRecord {
    const rec: ErrorRecord = { code: this.code, message: this.message };
    if (this.taskId !== undefined) rec.taskId = this.taskId;
    if (this.path !== undefined) rec.path = this.path;
    return rec;
  }

  static fromRecord(rec: ErrorRecord): ThermosGcError {
    const details: { taskId?: string; path?: string } = {};
    if (rec.taskId !== undefined) details.taskId = rec.taskId;
    if (rec.path !== undefined) details.path = rec.path;
    return new ThermosGcError(rec.code, rec.message, details);
  }
}

/** A checkpoint or message that cannot be decoded. `offset` is the byte offset where it failed. */
export class DecodeError extends ThermosGcError {
  readonly offset: number;
  constructor(code: ErrorCode, message: string, offset: number, details: { taskId?: string; path?: string } = {}) {
    super(code, `${message} (at byte ${offset})`, details);
    this.name = 'DecodeError';
    this.offset = offset;
  }
}

/** A stream that decodes but cannot be replayed (seq gap, illegal transition, second header). */
export class ReplayError extends ThermosGcError {
  constructor(message: string, details: { taskId?: string; path?: string } = {}) {
    super('ERR_REPLAY', message, details);
    this.name = 'ReplayError';
  }
}

/** A command line or configuration value that is not valid; the CLI exits with status 2. */
export class UsageError extends ThermosGcError {
  constructor(message: string) {
    super('ERR_USAGE', message);
    this.name = 'UsageError';
  }
}

/**
 * Runs `fn` with stack traces off, for paths where failures are expected findings that become
 * error codes or records (a corrupt checkpoint, a path another deletion took): capturing a stack
 * for each of thousands of them costs CPU and nobody prints it.
 */
export function withoutStackTraces<T>(fn: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The Mesos work dir does not exist: which executors are linked is unknown (never "none"). */
export function mesosRootMissing(mesosRoot: string): ThermosGcError {
  return new ThermosGcError('ERR_MESOS_ROOT_MISSING', `Mesos work dir ${mesosRoot} does not exist: cannot tell which executors Mesos still keeps`, { path: mesosRoot });
}
