// One pino logger for the process: JSON lines (to a file and/or stderr), or pino-pretty on an
// interactive stderr. Tests pass `silentLogger()`.
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** @default 'info' */
  level?: LevelWithSilent;
  /** Also append JSON lines to this file (created if missing). */
  file?: string;
  /** Human-readable output on stderr, only when stderr is a TTY. @default true */
  pretty?: boolean;
  /** Where console output goes. @default process.stderr */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean; fd?: number };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const stderr = options.stderr ?? process.stderr;
  const console: DestinationStream =
    (options.pretty ?? true) && stderr.isTTY === true
      ? pretty({ destination: stderr, colorize: true, translateTime: 'SYS:standard', ignore: 'pid,hostname' })
      : stderr === process.stderr
        ? pino.destination({ fd: 2, sync: true })
        : (stderr as unknown as DestinationStream);
  if (options.file === undefined) return pino({ level, base: { pid: process.pid } }, console);
  const file = pino.destination({ dest: options.file, mkdir: true, sync: true, append: true });
  return pino(
    { level, base: { pid: process.pid } },
    pino.multistream([
      { level, stream: console },
      { level, stream: file },
    ]),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
