// One pino logger for the process: JSON lines to a size-rotated file and/or stderr, or
// pino-pretty on an interactive stderr. With a log file, stderr gets only warnings and errors,
// and at most `stderrBytes` of them: Mesos keeps an executor's stderr in its sandbox, unrotated,
// and the sandbox has 16 MB. Tests pass `silentLogger()`.
import { renameSync, statSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Level, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** @default 'info' */
  level?: LevelWithSilent;
  /** Also append JSON lines to this file (created if missing), rotated by size. */
  file?: string;
  /** Rotate the file when a line would take it past this. @default 2 MiB */
  fileBytes?: number;
  /** Files kept: the current one and `files - 1` rotated ones (`<file>.1` newest). @default 3 */
  files?: number;
  /** With a file: at most this much goes to a non-TTY stderr, then one line saying so. @default 1 MiB */
  stderrBytes?: number;
  /** Human-readable output on stderr, only when stderr is a TTY. @default true */
  pretty?: boolean;
  /** Where console output goes. @default process.stderr */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean; fd?: number };
}

const MIB = 2 ** 20;
const LEVEL_ORDER: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The higher (less verbose) of two levels. */
function atLeast(level: LevelWithSilent, floor: Level): LevelWithSilent {
  return LEVEL_ORDER.indexOf(level) >= LEVEL_ORDER.indexOf(floor) ? level : floor;
}

interface SyncStream extends DestinationStream {
  flushSync?(): void;
}

/**
 * A log file rotated by size, the classic way (`<file>` is always the current one, `<file>.1`
 * the one before, ...), over pino's synchronous SonicBoom: a line is in the kernel when the log
 * call returns, so an OOM kill loses none, and the size check runs on every line, so no burst
 * of lines can take a file past its size. (pino-roll rolls on the stream's next drain, so one
 * synchronous burst lands in one file whatever its size, and its date-fns costs ~6 MiB of RSS.)
 */
export class RotatingFile implements SyncStream {
  private bytes: number;
  private readonly dest: ReturnType<typeof pino.destination>;
  private rotateFailed = false;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
    private readonly files: number,
  ) {
    this.dest = pino.destination({ dest: file, mkdir: true, sync: true, append: true });
    this.bytes = sizeOf(file);
  }

  write(line: string): void {
    const n = Buffer.byteLength(line);
    if (this.bytes > 0 && this.bytes + n > this.maxBytes) this.rotate();
    this.dest.write(line);
    this.bytes += n;
  }

  flushSync(): void {
    this.dest.flushSync();
  }

  private rotate(): void {
    try {
      this.dest.flushSync();
      if (this.files <= 1) unlinkSync(this.file);
      for (let i = this.files - 1; i >= 1; i--) {
        const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
        try {
          renameSync(from, `${this.file}.${i}`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      this.dest.reopen();
      this.bytes = 0;
    } catch (err) {
      // Keep logging into the current file rather than lose lines; say it once.
      if (!this.rotateFailed) process.stderr.write(`thermos-gc: cannot rotate ${this.file}: ${(err as Error).message}\n`);
      this.rotateFailed = true;
      this.bytes = 0;
    }
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Passes lines on until `maxBytes` were written, then writes one notice and drops the rest. */
export class BoundedStream implements SyncStream {
  private written = 0;
  private full = false;

  constructor(
    private readonly inner: SyncStream,
    private readonly maxBytes: number,
    private readonly notice: string,
  ) {}

  write(line: string): void {
    if (this.full) return;
    const n = Buffer.byteLength(line);
    if (this.written + n > this.maxBytes) {
      this.full = true;
      this.inner.write(`${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, msg: this.notice })}\n`);
      return;
    }
    this.written += n;
    this.inner.write(line);
  }

  flushSync(): void {
    this.inner.flushSync?.();
  }
}

/** pino-pretty, loaded only for an interactive terminal: the JSON paths never pay for it. */
function prettyStream(stderr: NodeJS.WritableStream): DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (opts: Record<string, unknown>) => DestinationStream;
  return pretty({ destination: stderr, colorize: true, translateTime: 'SYS:standard', ignore: 'pid,hostname' });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const stderr = options.stderr ?? process.stderr;
  const tty = (options.pretty ?? true) && stderr.isTTY === true;
  const raw: SyncStream = tty
    ? prettyStream(stderr)
    : stderr === process.stderr
      ? pino.destination({ fd: 2, sync: true })
      : (stderr as unknown as DestinationStream);
  if (options.file === undefined) return pino({ level, base: { pid: process.pid } }, raw);
  const file = new RotatingFile(options.file, options.fileBytes ?? 2 * MIB, options.files ?? 3);
  const console = tty
    ? raw
    : new BoundedStream(raw, options.stderrBytes ?? MIB, `stderr log limit reached: from now on only ${options.file} gets log lines`);
  return pino(
    { level, base: { pid: process.pid } },
    pino.multistream([
      { level: atLeast(level, 'warn') as Level, stream: console },
      { level: level === 'silent' ? 'fatal' : level, stream: file },
    ]),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
