// Sandbox paths from checkpoints are hostile input: relative, with `..`, outside the allowed
// roots, the root itself, through a symlink, shared with a task that stays, holding or being a
// mount. Each case goes through a full GC run on a real tree; the assertions are on what remains.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScheduleStatus } from '../../src/core/states.js';
import { parseMountInfo } from '../../src/io/tree-remover.js';
import { writeTask } from '../helpers/checkpoint-builder.js';
import {
  addExecutor,
  addTaskFiles,
  exists,
  fillDir,
  gc,
  makeAgent,
  refusalsLogged,
  snapshotTree,
  type Agent,
} from './agent-fixture.js';

let agent: Agent | undefined;
let mounted = false;

function run(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function unmountUnder(dir: string): Promise<void> {
  const mounts = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  for (const m of mounts.filter((p) => p.startsWith(dir + '/')).sort().reverse()) run('umount', ['-l', m]);
}

afterEach(async () => {
  if (agent !== undefined) {
    if (mounted) await unmountUnder(agent.base);
    await agent.cleanup();
  }
  agent = undefined;
  mounted = false;
});

/** A live task the scheduler retains, linked: it and its sandbox must come through untouched. */
async function addKeeper(a: Agent, taskId = 'keeper'): Promise<void> {
  const spec = a.active(taskId);
  await writeTask(a.root, spec);
  await addTaskFiles(spec);
  await addExecutor(a.mesos, taskId, true);
}

/** A finished task nobody retains, executor collected: a deletion candidate naming `sandbox`. */
async function addCandidate(a: Agent, taskId: string, sandbox: string): Promise<void> {
  await writeTask(a.root, a.finished(taskId, { sandbox }));
  await addExecutor(a.mesos, taskId, false);
}

describe('hostile sandbox paths through a full GC run', () => {
  it('refuses relative, `..`, outside, root and symlinked sandboxes; the rest of the run goes on', async () => {
    const a = (agent = await makeAgent());
    await addKeeper(a);
    const plain = a.finished('plain');
    await writeTask(a.root, plain);
    await addTaskFiles(plain);
    await addExecutor(a.mesos, 'plain', false);

    // Real directories each hostile path could resolve to if it were resolved: all must stay.
    await fillDir(a.sandbox('rel-sandbox'), { 'f.txt': 'relative target' });
    await fillDir(a.sandbox('victim-in'), { 'f.txt': 'reached through ..' });
    await fillDir(path.join(a.mesos, 'sibling'), { 'f.txt': 'beside the allowed root' });
    await fillDir(`${a.sandboxes}-evil/sb`, { 'f.txt': 'string-prefix of the root' });
    await fillDir(path.join(a.outside, 'sb'), { 'f.txt': 'behind a symlink' });
    await symlink(a.outside, a.sandbox('via-link'));
    await symlink(path.join(a.outside, 'nested'), a.sandbox('leaf-link'));

    const cases: Array<[string, string, string]> = [
      ['relative', 'rel-sandbox', 'relative'],
      ['dotdot-out', `${a.sandboxes}/x/../../../outside`, 'not-normalised'],
      ['dotdot-in', `${a.sandboxes}/a/../victim-in`, 'not-normalised'],
      ['outside', a.outside, 'outside-allowed-roots'],
      ['sibling', path.join(a.mesos, 'sibling'), 'outside-allowed-roots'],
      ['prefix', `${a.sandboxes}-evil/sb`, 'outside-allowed-roots'],
      ['slash', '/', 'outside-allowed-roots'],
      ['root', a.sandboxes, 'is-allowed-root'],
      ['root-slash', `${a.sandboxes}/`, 'not-normalised'],
      ['link-mid', path.join(a.sandbox('via-link'), 'sb'), 'symlink-in-path'],
      ['link-leaf', a.sandbox('leaf-link'), 'symlink-in-path'],
    ];
    for (const [id, sandbox] of cases) await addCandidate(a, id, sandbox);

    const before = {
      outside: await snapshotTree(a.outside),
      keeper: await snapshotTree(a.sandbox('keeper')),
      sandboxesOther: await snapshotTree(path.join(a.mesos, 'sibling')),
      evil: await snapshotTree(`${a.sandboxes}-evil`),
      rel: await snapshotTree(a.sandbox('rel-sandbox')),
      victim: await snapshotTree(a.sandbox('victim-in')),
    };
    const retained = new Map([['keeper', ScheduleStatus.RUNNING]]);

    // A relative path would resolve against the working directory: make that the allowed root.
    const cwd = process.cwd();
    process.chdir(a.sandboxes);
    let out;
    try {
      out = await gc(a, retained);
    } finally {
      process.chdir(cwd);
    }
    const { report, driver, lines } = out;

    for (const [id, , reason] of cases) {
      expect(report.refused, id).toContainEqual(expect.objectContaining({ taskId: id, reason }));
      expect(refusalsLogged(lines, id).length, id).toBeGreaterThan(0);
    }
    // The run went on: the plain task is gone, every candidate's own metadata too, and the
    // scheduler heard the end of the GC task.
    expect(await exists(a.sandbox('plain'))).toBe(false);
    expect(report.deleted).toEqual([...cases.map(([id]) => id), 'plain'].sort());
    expect(report.deleteFailed).toEqual([]);
    expect(driver.updates.at(-1)).toMatchObject({ taskId: 'gc-1', state: 'TASK_FINISHED' });

    expect(await snapshotTree(a.outside)).toEqual(before.outside);
    expect(await snapshotTree(a.sandbox('keeper'))).toEqual(before.keeper);
    expect(await snapshotTree(path.join(a.mesos, 'sibling'))).toEqual(before.sandboxesOther);
    expect(await snapshotTree(`${a.sandboxes}-evil`)).toEqual(before.evil);
    expect(await snapshotTree(a.sandbox('rel-sandbox'))).toEqual(before.rel);
    expect(await snapshotTree(a.sandbox('victim-in'))).toEqual(before.victim);
    expect(await exists(a.sandbox('via-link'))).toBe(true);
    expect(await exists(a.sandbox('leaf-link'))).toBe(true);
    expect(await exists(path.join(a.root, 'tasks', 'active', 'keeper'))).toBe(true);
  });

  it('keeps a sandbox a staying task names: the same path, one inside it, one around it', async () => {
    const a = (agent = await makeAgent());
    await addKeeper(a);
    // keeper2 lives in outer/inner; kept-fin is finished but retained and still linked.
    const keeper2 = a.active('keeper2', { sandbox: a.sandbox('outer/inner') });
    await writeTask(a.root, keeper2);
    await addTaskFiles(keeper2);
    await addExecutor(a.mesos, 'keeper2', true);
    const keptFin = a.finished('kept-fin');
    await writeTask(a.root, keptFin);
    await addTaskFiles(keptFin);
    await addExecutor(a.mesos, 'kept-fin', true);
    await fillDir(a.sandbox('outer'), { 'outer-file.txt': 'belongs around keeper2' });

    await addCandidate(a, 'twin', a.sandbox('keeper'));
    await addCandidate(a, 'twin-fin', a.sandbox('kept-fin'));
    await addCandidate(a, 'around', a.sandbox('outer'));
    await addCandidate(a, 'inside', path.join(a.sandbox('keeper'), 'sub'));
    // Two deletable tasks sharing one sandbox: deleted once, both reported.
    await fillDir(a.sandbox('pair'), { 'p.txt': 'pair' });
    await addCandidate(a, 'pair-1', a.sandbox('pair'));
    await addCandidate(a, 'pair-2', a.sandbox('pair'));

    const before = await snapshotTree(a.sandboxes);
    const retained = new Map([
      ['keeper', ScheduleStatus.RUNNING],
      ['keeper2', ScheduleStatus.STARTING],
      ['kept-fin', ScheduleStatus.FINISHED],
      ['pair-1', ScheduleStatus.FINISHED],
      ['pair-2', ScheduleStatus.FAILED],
    ]);
    const { report, lines } = await gc(a, retained);

    for (const id of ['twin', 'twin-fin', 'around', 'inside']) {
      expect(report.refused, id).toContainEqual(expect.objectContaining({ taskId: id, reason: 'shared-with-kept-task' }));
      expect(refusalsLogged(lines, id).length).toBeGreaterThan(0);
    }
    expect(await exists(a.sandbox('pair'))).toBe(false);
    expect(report.deletedTasks).toEqual(['pair-1', 'pair-2']);
    const after = await snapshotTree(a.sandboxes);
    for (const [rel, what] of before) {
      if (rel === 'pair' || rel.startsWith('pair/')) continue;
      expect(after.get(rel), rel).toBe(what);
    }
  });

  it('never crosses into a mounted volume inside a sandbox, nor deletes a sandbox that is a mount', async (ctx) => {
    const a = (agent = await makeAgent());
    await addKeeper(a);
    await fillDir(a.sandbox('with-volume'), { 'scratch.txt': 'scratch', 'deep/x.txt': 'x' });
    const volume = path.join(a.sandbox('with-volume'), 'deep', 'volume');
    await mkdir(volume);
    await mkdir(a.sandbox('is-mount'));
    const bindTarget = path.join(a.sandbox('with-bind'), 'bound');
    await mkdir(bindTarget, { recursive: true });
    if (!run('mount', ['-t', 'tmpfs', 'tmpfs', volume])) {
      ctx.skip(true, 'mount -t tmpfs failed: not permitted in this environment');
      return;
    }
    mounted = true;
    if (!run('mount', ['-t', 'tmpfs', 'tmpfs', a.sandbox('is-mount')]) || !run('mount', ['--bind', a.outside, bindTarget])) {
      ctx.skip(true, 'second mount failed: not permitted in this environment');
      return;
    }
    await fillDir(volume, { 'db/persistent.dat': 'persistent volume data' });
    await fillDir(a.sandbox('is-mount'), { 'm.txt': 'on its own filesystem' });
    const outsideBefore = await snapshotTree(a.outside);

    await addCandidate(a, 'with-volume', a.sandbox('with-volume'));
    await addCandidate(a, 'is-mount', a.sandbox('is-mount'));
    await addCandidate(a, 'with-bind', a.sandbox('with-bind'));
    const { report, driver } = await gc(a, new Map([['keeper', ScheduleStatus.RUNNING]]));

    expect(report.refused).toContainEqual(expect.objectContaining({ taskId: 'with-volume', path: volume, reason: 'mount-point' }));
    expect(report.refused).toContainEqual(expect.objectContaining({ taskId: 'is-mount', reason: 'mount-point' }));
    expect(report.refused).toContainEqual(expect.objectContaining({ taskId: 'with-bind', path: bindTarget, reason: 'mount-point' }));
    expect(await readFile(path.join(volume, 'db/persistent.dat'), 'utf8')).toBe('persistent volume data');
    expect(await readFile(path.join(a.sandbox('is-mount'), 'm.txt'), 'utf8')).toBe('on its own filesystem');
    expect(await snapshotTree(a.outside)).toEqual(outsideBefore);
    // Beside the volume, the sandbox's own files are gone.
    expect(await exists(path.join(a.sandbox('with-volume'), 'scratch.txt'))).toBe(false);
    expect(driver.updates.at(-1)).toMatchObject({ taskId: 'gc-1', state: 'TASK_FINISHED' });
  });
});

const CONFORMANCE = '/work/shared/conformance/thermos-root';
const SHARED_SANDBOX_PARENT = '/tmp/thermos.kfezsG';
const FINISHED_FIXTURES = ['failure', 'failure_limit', 'hello_world', 'ordering', 'ports', 'sleep60'];

describe('a GC run over a copy of the real Aurora checkpoint root', () => {
  let madeShared = false;
  afterEach(async () => {
    if (madeShared) await rm(SHARED_SANDBOX_PARENT, { recursive: true, force: true });
    madeShared = false;
  });

  async function setUp(ctx: { skip: (cond: boolean, why: string) => void }): Promise<{ a: Agent; root: string; shared: string } | undefined> {
    if (!(await exists(CONFORMANCE))) {
      ctx.skip(true, `${CONFORMANCE} is absent`);
      return undefined;
    }
    if (await exists(SHARED_SANDBOX_PARENT)) {
      ctx.skip(true, `${SHARED_SANDBOX_PARENT} already exists: not ours to create or remove`);
      return undefined;
    }
    const a = (agent = await makeAgent({ sandboxRoots: [SHARED_SANDBOX_PARENT] }));
    const root = path.join(a.base, 'thermos-root');
    await cp(CONFORMANCE, root, { recursive: true });
    run('chmod', ['-R', 'u+w', root]);
    madeShared = true;
    const shared = path.join(SHARED_SANDBOX_PARENT, 'sandbox');
    await fillDir(shared, { 'job.out': 'shared by six tasks' });
    // The relative sandbox of sleep60-lost, resolved against the allowed root as a trap.
    await fillDir(path.join(SHARED_SANDBOX_PARENT, 'tests/resources/com/twitter/thermos/root/sandbox'), { 'keep.txt': 'relative' });
    return { a, root, shared };
  }

  it('with one of the six sharing tasks kept, their sandbox stays; the relative one is never touched', async (ctx) => {
    const s = await setUp(ctx);
    if (s === undefined) return;
    const { a, root, shared } = s;
    await addExecutor(a.mesos, 'hello_world', true);
    const config = { ...a.config, checkpointRoots: [root] };
    const before = await snapshotTree(SHARED_SANDBOX_PARENT);
    const sleepBefore = await snapshotTree(path.join(root, 'checkpoints', 'sleep60-lost'));
    const strayBefore = await snapshotTree(path.join(root, 'sandbox'));

    const cwd = process.cwd();
    process.chdir(SHARED_SANDBOX_PARENT);
    let out;
    try {
      out = await gc(a, new Map([['sleep60-lost', ScheduleStatus.RUNNING], ['hello_world', ScheduleStatus.FINISHED]]), { config });
    } finally {
      process.chdir(cwd);
    }
    const { report } = out;
    expect(report.deleted).toEqual(FINISHED_FIXTURES.filter((id) => id !== 'hello_world'));
    expect(report.refused.filter((r) => r.reason === 'shared-with-kept-task').map((r) => r.taskId).sort()).toEqual(report.deleted);
    expect(await snapshotTree(SHARED_SANDBOX_PARENT)).toEqual(before);
    expect(await snapshotTree(path.join(root, 'checkpoints', 'sleep60-lost'))).toEqual(sleepBefore);
    expect(await snapshotTree(path.join(root, 'sandbox'))).toEqual(strayBefore);
    expect(await exists(path.join(root, 'tasks', 'active', 'sleep60-lost'))).toBe(true);
    expect(await exists(path.join(root, 'logs', 'hello_world'))).toBe(true);
    expect(await exists(path.join(root, 'logs', 'failure'))).toBe(false);
    expect(await readFile(path.join(shared, 'job.out'), 'utf8')).toBe('shared by six tasks');
  });

  it('with none of the six kept, the shared sandbox goes once; sleep60-lost and its relative sandbox stay', async (ctx) => {
    const s = await setUp(ctx);
    if (s === undefined) return;
    const { a, root, shared } = s;
    const config = { ...a.config, checkpointRoots: [root] };
    const sleepBefore = await snapshotTree(path.join(root, 'checkpoints', 'sleep60-lost'));
    const relBefore = await snapshotTree(path.join(SHARED_SANDBOX_PARENT, 'tests'));
    const strayBefore = await snapshotTree(path.join(root, 'sandbox'));

    const cwd = process.cwd();
    process.chdir(SHARED_SANDBOX_PARENT);
    let out;
    try {
      out = await gc(a, new Map([['sleep60-lost', ScheduleStatus.RUNNING], ['ports', ScheduleStatus.KILLED]]), { config });
    } finally {
      process.chdir(cwd);
    }
    const { report, driver } = out;
    expect(report.deleted).toEqual(FINISHED_FIXTURES);
    expect(report.deleteFailed).toEqual([]);
    expect(await exists(shared)).toBe(false);
    expect(report.deletedTasks).toEqual(['ports']);
    expect(await snapshotTree(path.join(SHARED_SANDBOX_PARENT, 'tests'))).toEqual(relBefore);
    expect(await snapshotTree(path.join(root, 'checkpoints', 'sleep60-lost'))).toEqual(sleepBefore);
    expect(await snapshotTree(path.join(root, 'sandbox'))).toEqual(strayBefore);
    expect(await exists(path.join(root, 'tasks', 'active', 'sleep60-lost'))).toBe(true);
    expect(driver.updates.filter((u) => u.taskId === 'sleep60-lost')).toEqual([]);
  });
});
