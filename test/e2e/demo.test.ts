// `thermos-gc demo` end to end, small: it runs the real executor, agrees with plan, exits 0 and
// removes its temporary directory.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt } from './harness.js';

beforeAll(async () => {
  await ensureBuilt();
});

describe('thermos-gc demo', () => {
  it('runs a GC task on a small simulated agent, matches plan and cleans up', async () => {
    const child = spawn(process.execPath, [BIN, 'demo', '--tasks', '80', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, `${out}\n${err}`).toBe(0);
    expect(out).toMatch(/^GC run system-gc-demo-0001$/m);
    expect(out).toMatch(/^matches plan: +yes$/m);
    expect(out).toMatch(/^agent took every call: +yes$/m);
    expect(out).toMatch(/^executor exit code: +0$/m);
    expect(out).toMatch(/^deleted-tasks message: +\d+ task ids in 1 message\(s\)$/m);
    // Not a terminal: a few plain progress lines, no spinner.
    expect(err).not.toContain('\r');
    const tmp = /in (\S+)\.\.\./.exec(err)?.[1];
    expect(tmp).toBeDefined();
    expect(existsSync(tmp!)).toBe(false);
  });
});
