import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/log.js';

describe('createLogger', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('writes JSON lines to the file and to a non-TTY stderr', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gc-log-'));
    const file = join(dir, 'sub', 'gc.log');
    const stderr = new PassThrough();
    let console = '';
    stderr.on('data', (c: Buffer) => (console += c.toString()));
    const log = createLogger({ level: 'info', file, stderr });
    log.info({ taskId: 't1', path: '/x', reason: 'finished-unknown' }, 'deleted');
    log.debug('not at this level');
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'deleted', taskId: 't1', path: '/x', reason: 'finished-unknown' });
    expect(JSON.parse(console.trim())).toMatchObject({ msg: 'deleted', taskId: 't1' });
  });
});
