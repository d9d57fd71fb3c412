import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ThermosGcError } from '../../src/errors.js';
import { lockExclusiveWithTimeout, tryLockExclusive, unlock } from '../../src/io/flock.js';

let dir: string;
let file: string;
const holders: ChildProcess[] = [];
const fds: number[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'flock-'));
  file = path.join(dir, 'runner');
  await writeFile(file, '');
});

afterEach(async () => {
  for (const h of holders.splice(0)) killGroup(h);
  for (const fd of fds.splice(0)) closeSync(fd);
  await rm(dir, { recursive: true, force: true });
});

/** Kills the holder's whole group: flock's child inherits the locked file and would keep the lock. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A separate process (util-linux flock, in its own group) that holds the lock until killed. */
async function holdLockElsewhere(target: string): Promise<ChildProcess> {
  const child = spawn('flock', ['-x', target, 'sh', '-c', 'echo locked; exec sleep 1000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  holders.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock exited with ${code}`)));
  });
  return child;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  killGroup(child);
  await exited;
}

function open(): number {
  const fd = openSync(file, 'a');
  fds.push(fd);
  return fd;
}

function otherProcessCanLock(): boolean {
  return spawnSync('flock', ['-n', file, 'true']).status === 0;
}

describe('flock against another process', () => {
  it('cannot take the lock while another process holds it, and can once it died', async () => {
    const holder = await holdLockElsewhere(file);
    const fd = open();
    expect(tryLockExclusive(fd)).toBe(false);
    await expect(lockExclusiveWithTimeout(fd, 100, { pollMs: 20 })).rejects.toMatchObject({ code: 'ERR_LOCK' });

    await killAndWait(holder);
    // SIGKILL is asynchronous for the holder's child: wait (bounded) rather than try once.
    await expect(lockExclusiveWithTimeout(fd, 5000, { pollMs: 20 })).resolves.toBe(fd);
    expect(otherProcessCanLock()).toBe(false);
  });

  it('waits for the lock and gets it when the holder dies during the wait', async () => {
    const holder = await holdLockElsewhere(file);
    const fd = open();
    const waiting = lockExclusiveWithTimeout(fd, 10_000, { pollMs: 20 });
    setTimeout(() => killGroup(holder), 50);
    await expect(waiting).resolves.toBe(fd);
    expect(otherProcessCanLock()).toBe(false);
  });

  it('excludes other processes while we hold it, and lets them in after unlock', () => {
    const fd = open();
    expect(tryLockExclusive(fd)).toBe(true);
    expect(otherProcessCanLock()).toBe(false);
    unlock(fd);
    expect(otherProcessCanLock()).toBe(true);
  });

  it('opens a path itself, returns the locked fd, and closes it again on timeout', async () => {
    const fd = await lockExclusiveWithTimeout(file, 1000);
    fds.push(fd);
    expect(otherProcessCanLock()).toBe(false);

    const err: unknown = await lockExclusiveWithTimeout(file, 50, { pollMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThermosGcError);
    expect(err).toMatchObject({ code: 'ERR_LOCK', path: file });
  });

  it('gives up early when the signal aborts', async () => {
    await holdLockElsewhere(file);
    const fd = open();
    const ac = new AbortController();
    const waiting = lockExclusiveWithTimeout(fd, 60_000, { signal: ac.signal, pollMs: 20 });
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_LOCK' });
  });
});
