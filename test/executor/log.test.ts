import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { REPO, ensureBuilt } from '../e2e/harness.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('createLogger', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('with a log file: everything at the level to the file, only warnings and errors to a non-TTY stderr', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gc-log-'));
    const file = join(dir, 'sub', 'gc.log');
    const stderr = capture();
    const log = createLogger({ level: 'info', file, stderr: stderr.stream });
    log.info({ taskId: 't1', path: '/x', reason: 'finished-unknown' }, 'deleted');
    log.debug('not at this level');
    log.warn({ taskId: 't2' }, 'refused to delete');
    const lines = jsonLines(await readFile(file, 'utf8'));
    expect(lines.map((l) => l.msg)).toEqual(['deleted', 'refused to delete']);
    expect(lines[0]).toMatchObject({ msg: 'deleted', taskId: 't1', path: '/x', reason: 'finished-unknown' });
    expect(jsonLines(stderr.text()).map((l) => l.msg)).toEqual(['refused to delete']);
  });

  it('without a log file stderr gets every line at the level', () => {
    const stderr = capture();
    const log = createLogger({ level: 'info', stderr: stderr.stream });
    log.info('one');
    log.warn('two');
    expect(jsonLines(stderr.text()).map((l) => l.msg)).toEqual(['one', 'two']);
  });

  it('rotates the file by size, even within one synchronous burst, and keeps only the configured files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gc-log-'));
    const file = join(dir, 'thermos-gc.log');
    const log = createLogger({ level: 'info', file, fileBytes: 4096, files: 3, stderr: capture().stream });
    for (let i = 0; i < 1000; i++) log.info({ i, pad: 'x'.repeat(40) }, 'line');
    log.flush();
    expect(readdirSync(dir).sort()).toEqual(['thermos-gc.log', 'thermos-gc.log.1', 'thermos-gc.log.2']);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(4096);
    const current = jsonLines(await readFile(file, 'utf8'));
    const previous = jsonLines(await readFile(`${file}.1`, 'utf8'));
    // Newest in the current file; .1 ends where the current one starts.
    expect(current.at(-1)?.i).toBe(999);
    expect(previous.at(-1)?.i).toBe((current[0]?.i as number) - 1);
  });

  it('continues an existing file and its size after a restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gc-log-'));
    const file = join(dir, 'thermos-gc.log');
    for (let round = 0; round < 3; round++) {
      const log = createLogger({ level: 'info', file, fileBytes: 2048, files: 2, stderr: capture().stream });
      for (let i = 0; i < 30; i++) log.info({ round, i, pad: 'y'.repeat(20) }, 'line');
      log.flush();
    }
    expect(readdirSync(dir).sort()).toEqual(['thermos-gc.log', 'thermos-gc.log.1']);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(2048);
  });

  it('stops writing stderr at its limit, with one line saying so; the file keeps everything', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gc-log-'));
    const file = join(dir, 'thermos-gc.log');
    const stderr = capture();
    const log = createLogger({ level: 'info', file, stderrBytes: 1024, stderr: stderr.stream });
    for (let i = 0; i < 100; i++) log.warn({ i }, 'a warning');
    const err = jsonLines(stderr.text());
    expect(Buffer.byteLength(stderr.text())).toBeLessThan(1024 + 300);
    expect(err.filter((l) => String(l.msg).startsWith('stderr log limit reached'))).toHaveLength(1);
    expect(err.at(-1)?.msg).toMatch(/stderr log limit reached/);
    expect(jsonLines(await readFile(file, 'utf8'))).toHaveLength(100);
  });

  it('loads pino-pretty only for an interactive terminal', { timeout: 120_000 }, async () => {
    await ensureBuilt();
    const log = join(REPO, 'dist', 'src', 'log.js');
    const script = `
      import { createRequire } from 'node:module';
      const { createLogger } = await import(${JSON.stringify(log)});
      createLogger({ level: 'info' }).info('hello');
      const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/pino-pretty/'));
      console.log(JSON.stringify({ loaded }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: REPO });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({ loaded: false });
    expect(existsSync(log)).toBe(true);
  });
});
