// A logger that drops everything, for commands that print their own output (`plan`, `inspect`):
// the services take a pino Logger, and building a silent pino would load pino (~25 ms and several
// MiB at start) only to discard every line.
import type { Logger } from 'pino';

const drop = (): void => undefined;

export function quietLogger(): Logger {
  const quiet = {
    level: 'silent',
    child: (): Logger => quiet as unknown as Logger,
    isLevelEnabled: (): boolean => false,
    fatal: drop,
    error: drop,
    warn: drop,
    info: drop,
    debug: drop,
    trace: drop,
    silent: drop,
    flush: drop,
  };
  return quiet as unknown as Logger;
}
