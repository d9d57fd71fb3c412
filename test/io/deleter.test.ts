import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeletionTarget } from '../../src/core/facts.js';
import { filesystemUsage, treeUsage } from '../../src/io/disk-usage.js';
import { type DeletionEvent, deleteTargets } from '../../src/io/sandbox-deleter.js';
import { DEFAULT_TRASH_DIR_NAME, finishTrash } from '../../src/io/trash.js';
import { type DeleterFs, nodeDeleterFs, parseMountInfo } from '../../src/io/tree-remover.js';

let base: string;
let root: string; // the allowed sandbox root
let outside: string; // data that must never be touched
let mountedAny = false;

async function write(p: string, size = 10): Promise<void> {
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, 'x'.repeat(size));
}

/** A sandbox with nested dirs, files of a few sizes and an in-tree hard link. */
async function makeSandbox(dir: string): Promise<void> {
  await write(path.join(dir, 'stdout'), 5000);
  await write(path.join(dir, 'a/b/c/deep.bin'), 70_000);
  await write(path.join(dir, 'a/empty-sibling/.keep'), 0);
  await mkdir(path.join(dir, 'a/empty-dir'));
  for (let i = 0; i < 40; i++) await write(path.join(dir, 'many', `f${i}`), 100 * i);
  await link(path.join(dir, 'stdout'), path.join(dir, 'a/hardlink-to-stdout'));
}

function target(taskId: string, over: Partial<DeletionTarget> = {}): DeletionTarget {
  return { taskId, reason: 'test', logPaths: [], metadataPaths: [], ...over };
}

function run(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'thermos-gc-delete-'));
  root = path.join(base, 'mesos');
  outside = path.join(base, 'outside');
  await mkdir(root);
  await write(path.join(outside, 'precious'), 123);
});
/** Unmounts every mount under `dir`, deepest first, wherever a (faulty) deleter moved it. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  for (const m of mounts.filter((p) => p.startsWith(dir + '/')).sort().reverse()) run('umount', ['-l', m]);
}
afterEach(async () => {
  if (mountedAny) await unmountUnder(base);
  await rm(base, { recursive: true, force: true });
});

describe('deleteTargets on real trees', () => {
  it('deletes a sandbox through the trash, counting allocated bytes and inodes; symlinks are unlinked, not followed', async () => {
    const sb = path.join(root, 'executors/thermos-t1/runs/r1');
    await makeSandbox(sb);
    await symlink(outside, path.join(sb, 'link-to-outside-dir'));
    await symlink(path.join(outside, 'precious'), path.join(sb, 'a/link-to-outside-file'));
    const expected = await treeUsage(sb);
    expect(expected.inodes).toBeGreaterThan(45);

    const events: DeletionEvent[] = [];
    const [res] = await deleteTargets([target('t1', { sandbox: sb })], {
      allowedRoots: [root],
      parallelism: 2,
      onEvent: (e) => events.push(e),
    });
    expect(res).toEqual({ taskId: 't1', deleted: [sb], refused: [], errors: [], bytesFreed: expected.bytes, inodesFreed: expected.inodes });
    expect(existsSync(sb)).toBe(false);
    expect(existsSync(path.join(root, 'executors/thermos-t1/runs'))).toBe(true);
    expect(await readFile(path.join(outside, 'precious'), 'utf8')).toBe('x'.repeat(123));
    expect(await readdir(path.join(root, DEFAULT_TRASH_DIR_NAME))).toEqual([]);
    expect(events).toEqual([{ taskId: 't1', path: sb, kind: 'sandbox', reason: 'test', outcome: 'deleted' }]);
  });

  it('refuses a sandbox reached through a symlink, and a sandbox that is a symlink', async () => {
    await makeSandbox(path.join(outside, 'real'));
    await symlink(outside, path.join(root, 'linked'));
    await symlink(path.join(outside, 'real'), path.join(root, 'sb-link'));
    const viaLink = path.join(root, 'linked/real');
    const res = await deleteTargets([target('a', { sandbox: viaLink }), target('b', { sandbox: path.join(root, 'sb-link') })], {
      allowedRoots: [root],
      parallelism: 2,
    });
    expect(res.map((r) => r.refused)).toEqual([
      [{ path: viaLink, reason: 'symlink-in-path' }],
      [{ path: path.join(root, 'sb-link'), reason: 'symlink-in-path' }],
    ]);
    expect(res.map((r) => r.deleted)).toEqual([[], []]);
    expect(existsSync(path.join(outside, 'real/a/b/c/deep.bin'))).toBe(true);
  });

  it('refuses what the policy would refuse (defence in depth)', async () => {
    await makeSandbox(path.join(outside, 'x'));
    const res = await deleteTargets(
      [
        target('out', { sandbox: path.join(outside, 'x') }),
        target('root', { sandbox: root }),
        target('rel', { sandbox: 'relative/x' }),
        target('dots', { sandbox: `${root}/a/../../outside/x` }),
      ],
      { allowedRoots: [root + '/'], parallelism: 4 },
    );
    expect(res.map((r) => r.refused[0]?.reason)).toEqual(['outside-allowed-roots', 'is-allowed-root', 'relative', 'not-normalised']);
    expect(existsSync(path.join(outside, 'x/stdout'))).toBe(true);
  });

  it('counts an already-missing sandbox and paths as gone', async () => {
    const [res] = await deleteTargets(
      [target('gone', { sandbox: path.join(root, 'never/was'), logPaths: ['/nonexistent/x/stdout'], metadataPaths: [path.join(base, 'ckpt/gone')] })],
      { allowedRoots: [root], parallelism: 1 },
    );
    expect(res?.errors).toEqual([]);
    expect(res?.deleted.sort()).toEqual([path.join(base, 'ckpt/gone'), path.join(root, 'never/was'), '/nonexistent/x/stdout'].sort());
  });

  it('leaves a tmpfs mounted inside the sandbox in place, with its files', async (ctx) => {
    const sb = path.join(root, 'sb-with-volume');
    await makeSandbox(sb);
    const vol = path.join(sb, 'volume');
    await mkdir(vol);
    if (!run('mount', ['-t', 'tmpfs', 'tmpfs', vol])) {
      ctx.skip(true, 'mount -t tmpfs failed: not permitted in this environment');
      return;
    }
    mountedAny = true;
    await write(path.join(vol, 'data/keep.db'), 4096);

    const [res] = await deleteTargets([target('v', { sandbox: sb })], { allowedRoots: [root], parallelism: 1 });
    expect(res?.refused).toEqual([{ path: vol, reason: 'mount-point' }]);
    expect(res?.errors).toEqual([]);
    expect(res?.deleted).toEqual([]);
    expect(await readFile(path.join(vol, 'data/keep.db'), 'utf8')).toBe('x'.repeat(4096));
    // Everything beside the mount is gone; the sandbox stays only as the mount's parent.
    expect((await readdir(sb)).sort()).toEqual(['volume']);
  });

  it('leaves a same-filesystem bind mount in place (st_dev alone would not see it)', async (ctx) => {
    const sb = path.join(root, 'sb-with-bind');
    await makeSandbox(sb);
    const src = path.join(outside, 'bind-src');
    await write(path.join(src, 'volume-file'), 50);
    const dst = path.join(sb, 'a/bound');
    await mkdir(dst);
    if (!run('mount', ['--bind', src, dst])) {
      ctx.skip(true, 'mount --bind failed: not permitted in this environment');
      return;
    }
    mountedAny = true;
    const [res] = await deleteTargets([target('b', { sandbox: sb })], { allowedRoots: [root], parallelism: 1 });
    expect(res?.refused).toEqual([{ path: dst, reason: 'mount-point' }]);
    expect(await readFile(path.join(src, 'volume-file'), 'utf8')).toBe('x'.repeat(50));
  });

  it('deletes logs and metadata: empty log dirs go, non-empty foreign ones stay; legacy and checkpoint trees go recursively', async () => {
    const ckRoot = path.join(base, 'thermos');
    const logDir = path.join(base, 'shared-logs');
    await write(path.join(logDir, 'web/0/stdout'));
    await write(path.join(logDir, 'web/0/stderr'));
    await write(path.join(logDir, 'web/0/stdout.1')); // not ours to name: keeps web/0 and above
    await write(path.join(logDir, 'init/0/stdout'));
    await write(path.join(logDir, 'init/0/stderr'));
    await write(path.join(ckRoot, 'logs/t1/echo/0/stdout'));
    await write(path.join(ckRoot, 'checkpoints/t1/runner'));
    await write(path.join(ckRoot, 'checkpoints/t1/coordinator.echo'));
    await write(path.join(ckRoot, 'tasks/finished/t1'));
    const logPaths = [
      path.join(logDir, 'web/0'),
      path.join(logDir, 'web'),
      logDir,
      path.join(logDir, 'init/0/stdout'),
      path.join(logDir, 'init/0/stderr'),
      path.join(logDir, 'web/0/stdout'),
      path.join(logDir, 'web/0/stderr'),
      path.join(logDir, 'init/0'),
      path.join(logDir, 'init'),
      path.join(ckRoot, 'logs/t1'),
    ];
    const metadataPaths = [path.join(ckRoot, 'tasks/finished/t1'), path.join(ckRoot, 'checkpoints/t1')];
    const [res] = await deleteTargets([target('t1', { logPaths, metadataPaths })], { allowedRoots: [root], parallelism: 1 });
    expect(res?.errors).toEqual([]);
    expect(res?.refused.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: logDir, reason: 'not-empty' },
      { path: path.join(logDir, 'web'), reason: 'not-empty' },
      { path: path.join(logDir, 'web/0'), reason: 'not-empty' },
    ]);
    expect(existsSync(path.join(logDir, 'web/0/stdout.1'))).toBe(true);
    expect(existsSync(path.join(logDir, 'init'))).toBe(false);
    expect(existsSync(path.join(ckRoot, 'logs/t1'))).toBe(false);
    expect(existsSync(path.join(ckRoot, 'logs'))).toBe(true);
    expect(existsSync(path.join(ckRoot, 'checkpoints/t1'))).toBe(false);
    expect(existsSync(path.join(ckRoot, 'tasks/finished/t1'))).toBe(false);
    expect(res?.deleted).toContain(path.join(ckRoot, 'checkpoints/t1'));
  });

  it('deletes a path named by two targets once; both see it gone; bytes counted once', async () => {
    const sb = path.join(root, 'shared');
    await makeSandbox(sb);
    const usage = await treeUsage(sb);
    const res = await deleteTargets([target('a', { sandbox: sb }), target('b', { sandbox: sb }), target('a2', { sandbox: sb })], {
      allowedRoots: [root],
      parallelism: 3,
    });
    expect(res.map((r) => r.deleted)).toEqual([[sb], [sb], [sb]]);
    expect(res.reduce((n, r) => n + r.bytesFreed, 0)).toBe(usage.bytes);
    expect(res.reduce((n, r) => n + r.inodesFreed, 0)).toBe(usage.inodes);
  });

  it('pre-aborted: nothing is touched and every target says so', async () => {
    const sb = path.join(root, 'kept');
    await makeSandbox(sb);
    const res = await deleteTargets([target('x', { sandbox: sb })], { allowedRoots: [root], parallelism: 1, signal: AbortSignal.abort() });
    expect(res[0]?.errors[0]?.code).toBe('ERR_DELETE');
    expect(existsSync(path.join(sb, 'stdout'))).toBe(true);
  });
});

describe('faults (injected file system)', () => {
  it('an ENOENT race (someone else removes a file first) is not an error', async () => {
    const sb = path.join(root, 'race');
    await makeSandbox(sb);
    const racing = new Set<string>();
    const fs: DeleterFs = {
      ...nodeDeleterFs,
      lstat: async (p) => {
        if (p.endsWith('/many/f7') || p.endsWith('/a/b/c')) {
          racing.add(p);
          await rm(p, { recursive: true });
        }
        return nodeDeleterFs.lstat(p);
      },
    };
    const [res] = await deleteTargets([target('r', { sandbox: sb })], { allowedRoots: [root], parallelism: 1, fs });
    expect(racing.size).toBe(2);
    expect(res?.errors).toEqual([]);
    expect(res?.deleted).toEqual([sb]);
    expect(existsSync(sb)).toBe(false);
  });

  it('EACCES on one file is recorded with path and task id; the other target and the other files go; finishTrash completes later', async () => {
    const bad = path.join(root, 'bad');
    const good = path.join(root, 'good');
    await makeSandbox(bad);
    await makeSandbox(good);
    const badUsage = await treeUsage(bad);
    const fs: DeleterFs = {
      ...nodeDeleterFs,
      unlink: async (p) => {
        if (path.basename(p) === 'deep.bin' && p.includes('/bad.')) {
          throw Object.assign(new Error(`EACCES: permission denied, unlink '${p}'`), { code: 'EACCES' });
        }
        return nodeDeleterFs.unlink(p);
      },
    };
    const [badRes, goodRes] = await deleteTargets([target('bad', { sandbox: bad }), target('good', { sandbox: good })], {
      allowedRoots: [root],
      parallelism: 2,
      fs,
    });
    expect(goodRes?.errors).toEqual([]);
    expect(existsSync(good)).toBe(false);
    expect(badRes?.errors).toHaveLength(1);
    expect(badRes?.errors[0]).toMatchObject({ code: 'ERR_DELETE', taskId: 'bad' });
    expect(badRes?.errors[0]?.path).toMatch(/\.thermos-gc-trash\/bad\.[0-9a-f]{16}\/a\/b\/c\/deep\.bin$/);
    expect(badRes?.errors[0]?.message).toContain('EACCES');
    // The sandbox left its place; what could not be deleted waits in the trash.
    expect(badRes?.deleted).toEqual([bad]);
    const trash = path.join(root, DEFAULT_TRASH_DIR_NAME);
    expect(await readdir(trash)).toHaveLength(1);

    const summary = await finishTrash([root]);
    expect(summary).toMatchObject({ entries: 1, errors: [], refused: [] });
    expect(summary.bytesFreed + (badRes?.bytesFreed ?? 0)).toBe(badUsage.bytes);
    expect(summary.inodesFreed + (badRes?.inodesFreed ?? 0)).toBe(badUsage.inodes);
    expect(await readdir(trash)).toEqual([]);
  });

  it('an abort mid-walk stops the deletion; the trash keeps the rest for finishTrash', async () => {
    const sb = path.join(root, 'aborted');
    await makeSandbox(sb);
    const usage = await treeUsage(sb);
    const ac = new AbortController();
    let unlinks = 0;
    const fs: DeleterFs = {
      ...nodeDeleterFs,
      unlink: async (p) => {
        if (++unlinks === 5) ac.abort();
        return nodeDeleterFs.unlink(p);
      },
    };
    const [res] = await deleteTargets([target('ab', { sandbox: sb })], { allowedRoots: [root], parallelism: 1, fs, signal: ac.signal });
    expect(res?.deleted).toEqual([sb]);
    expect(res?.errors.length).toBeGreaterThan(0);
    expect(res?.errors[0]).toMatchObject({ code: 'ERR_DELETE', taskId: 'ab' });
    const summary = await finishTrash([root]);
    expect(summary.entries).toBe(1);
    expect(summary.bytesFreed + (res?.bytesFreed ?? 0)).toBe(usage.bytes);
    expect(summary.inodesFreed + (res?.inodesFreed ?? 0)).toBe(usage.inodes);
  });

  it('EXDEV on rename into the trash deletes in place', async () => {
    const sb = path.join(root, 'xdev');
    await makeSandbox(sb);
    const usage = await treeUsage(sb);
    const fs: DeleterFs = {
      ...nodeDeleterFs,
      rename: async () => {
        throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
      },
    };
    const [res] = await deleteTargets([target('x', { sandbox: sb })], { allowedRoots: [root], parallelism: 1, fs });
    expect(res).toMatchObject({ deleted: [sb], errors: [], bytesFreed: usage.bytes, inodesFreed: usage.inodes });
    expect(existsSync(sb)).toBe(false);
  });
});

describe('finishTrash', () => {
  it('finishes a half-deleted tree left by a killed run', async () => {
    const sb = path.join(root, 'half');
    await makeSandbox(sb);
    await rm(path.join(sb, 'many'), { recursive: true }); // the killed run got this far
    const usage = await treeUsage(sb);
    const trash = path.join(root, 'custom-trash');
    await mkdir(trash);
    await rename(sb, path.join(trash, 'half.0123456789abcdef'));
    await write(path.join(trash, 'stray-file'), 10);
    const stray = await treeUsage(path.join(trash, 'stray-file'));

    const summary = await finishTrash([root, path.join(base, 'no-trash-here')], { trashDirName: 'custom-trash' });
    expect(summary).toEqual({
      bytesFreed: usage.bytes + stray.bytes,
      inodesFreed: usage.inodes + stray.inodes,
      entries: 2,
      refused: [],
      errors: [],
    });
    expect(await readdir(trash)).toEqual([]);
  });

  it('refuses a trash dir that is a symlink', async () => {
    await symlink(outside, path.join(root, DEFAULT_TRASH_DIR_NAME));
    const summary = await finishTrash([root]);
    expect(summary.refused).toEqual([{ path: path.join(root, DEFAULT_TRASH_DIR_NAME), reason: 'symlink-in-path' }]);
    expect(existsSync(path.join(outside, 'precious'))).toBe(true);
  });
});

describe('disk usage', () => {
  it('treeUsage counts allocated blocks once per inode and skips symlink targets', async () => {
    const dir = path.join(base, 'du');
    await write(path.join(dir, 'f'), 10_000);
    await link(path.join(dir, 'f'), path.join(dir, 'f2'));
    await symlink(outside, path.join(dir, 'l'));
    const u = await treeUsage(dir);
    expect(u.inodes).toBe(3); // dir, f (once), l
    const du = Number(execFileSync('du', ['-s', '-B1', dir], { encoding: 'utf8' }).split('\t')[0]);
    expect(u.bytes).toBe(du);
    expect(await treeUsage(path.join(base, 'missing'))).toEqual({ bytes: 0, inodes: 0 });
  });

  it('filesystemUsage reports shares in [0, 1]', async () => {
    const u = await filesystemUsage(base);
    expect(u.usedShare).toBeGreaterThan(0);
    expect(u.usedShare).toBeLessThanOrEqual(1);
    expect(u.inodeUsedShare).toBeGreaterThanOrEqual(0);
    expect(u.totalBytes).toBeGreaterThan(u.availBytes);
    expect(u.totalInodes).toBeGreaterThanOrEqual(u.freeInodes);
  });

  it('parses mountinfo with escaped paths', () => {
    const text = '36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n22 1 0:21 / /proc rw - proc proc rw\n';
    expect(parseMountInfo(text)).toEqual(['/mnt/with space', '/proc']);
  });
});
