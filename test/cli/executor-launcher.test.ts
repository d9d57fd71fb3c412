// bin/thermos-gc-executor, what Aurora's -gc_executor_path points at: it must start the executor
// on this checkout's bin/thermos-gc.js (also through a symlink, as npm links bins), pass its
// arguments on, and set MALLOC_ARENA_MAX=2 unless the operator set a value.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const LAUNCHER = fileURLToPath(new URL('../../bin/thermos-gc-executor', import.meta.url));
const JS = fileURLToPath(new URL('../../bin/thermos-gc.js', import.meta.url));

describe('bin/thermos-gc-executor', () => {
  // A `node` first in PATH that prints what it was started with.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'launcher-'));
  writeFileSync(path.join(dir, 'node'), '#!/bin/sh\necho "arena=${MALLOC_ARENA_MAX:-unset} args=$*"\n');
  chmodSync(path.join(dir, 'node'), 0o755);
  symlinkSync(LAUNCHER, path.join(dir, 'linked-executor'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (file: string, args: string[], env: Record<string, string> = {}): string => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'MALLOC_ARENA_MAX')) as Record<string, string>;
    return execFileSync(file, args, { env: { ...base, ...env, PATH: `${dir}:${process.env.PATH ?? ''}` }, encoding: 'utf8' }).trim();
  };

  it('runs `executor` of bin/thermos-gc.js with MALLOC_ARENA_MAX=2 and the arguments given', () => {
    expect(run(LAUNCHER, ['--workers', '0'])).toBe(`arena=2 args=${JS} executor --workers 0`);
  });

  it("keeps the operator's MALLOC_ARENA_MAX", () => {
    expect(run(LAUNCHER, [], { MALLOC_ARENA_MAX: '4' })).toBe(`arena=4 args=${JS} executor`);
  });

  it('finds bin/thermos-gc.js through a symlink to it (npm links bins so)', () => {
    expect(run(path.join(dir, 'linked-executor'), [])).toBe(`arena=2 args=${JS} executor`);
  });
});
