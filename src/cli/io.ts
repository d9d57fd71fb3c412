// What a command touches of its process, passed in so tests can run commands in-process.
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
}

export type CommandRun = (argv: string[], io: CliIo) => Promise<number>;

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/**
 * A one-shot read-only command (plan, inspect) scans on its own thread unless `--workers` or
 * THERMOS_GC_WORKERS asks for threads: at 10,000 tasks on 2 cores, starting them cost more than
 * they saved and each added ~20 MiB (bench "whole process"). The executor keeps its default.
 */
export function oneShotScanConfig<C extends { workers: number }>(config: C, flags: Record<string, unknown>, env: CliIo['env']): C {
  if (flags.workers !== undefined || env.THERMOS_GC_WORKERS !== undefined) return config;
  return { ...config, workers: 0 };
}
