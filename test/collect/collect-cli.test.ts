import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { access, lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import type { CollectJson } from '../../src/report/collect-report.js';
import { sandboxOf, writeAgent, type AgentLayout, type TaskSpec } from './fixtures.js';
import { naiveSelection } from './naive-policy.js';

const DAY = 86_400_000;
const KIB = 1024;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function collect(args: string[], stdin: { tty?: boolean; input?: string } = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const input = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (stdin.tty === true) input.isTTY = true;
  if (stdin.input !== undefined) input.end(stdin.input);
  const chunks = { out: '', err: '' };
  stdout.on('data', (d: Buffer) => (chunks.out += d.toString()));
  stderr.on('data', (d: Buffer) => (chunks.err += d.toString()));
  const io: CliIo = { stdout, stderr, stdin: input, env: {} };
  const code = await main(['collect', ...args], io);
  return { code, stdout: chunks.out, stderr: chunks.err };
}

/** Paths, types, sizes, modes, mtimes and contents of a tree. */
async function hashTree(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = path.join(dir, name);
      const st = await lstat(p);
      h.update(`${path.relative(root, p)}|${st.mode}|${st.size}|${st.mtimeMs}|${st.nlink}\n`);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) h.update(await readFile(p));
    }
  };
  await walk(root);
  return h.digest('hex');
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

let base: string;
let layout: AgentLayout;
beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'thermos-gc-collect-'));
  layout = { checkpointRoot: path.join(base, 'ckpt'), mesosRoot: path.join(base, 'mesos') };
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const roots = (): string[] => ['--checkpoint-root', layout.checkpointRoot, '--mesos-root', layout.mesosRoot];

function standardAgent(): TaskSpec[] {
  return [
    { id: 'f-old', state: 'finished', ageMs: 10 * DAY, sandboxBytes: 64 * KIB },
    { id: 'f-mid', state: 'finished', ageMs: 5 * DAY, sandboxBytes: 32 * KIB },
    { id: 'f-new', state: 'finished', ageMs: 1 * DAY, sandboxBytes: 16 * KIB },
    { id: 'f-linked', state: 'finished', ageMs: 20 * DAY, sandboxBytes: 8 * KIB, linked: true },
    { id: 'a-live', state: 'active', ageMs: 30 * DAY, sandboxBytes: 8 * KIB },
  ];
}

describe('thermos-gc collect', () => {
  it('--json prints exactly the documented shape', async () => {
    await writeAgent(layout, standardAgent(), Date.now());
    const r = await collect([...roots(), '--max-age', '7d', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as CollectJson;
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(Object.keys(out).sort()).toEqual(['deleted', 'freed_bytes', 'freed_inodes', 'refused', 'selected', 'tasks']);
    expect(out.selected).toEqual(['f-old']);
    expect(Object.keys(out.tasks).sort()).toEqual(['f-mid', 'f-new', 'f-old']);
    for (const t of Object.values(out.tasks)) {
      expect(Object.keys(t).sort()).toEqual(['age_s', 'log_bytes', 'metadata_bytes', 'reason', 'sandbox_bytes']);
      for (const k of ['age_s', 'log_bytes', 'metadata_bytes', 'sandbox_bytes'] as const) expect(Number.isInteger(t[k])).toBe(true);
    }
    expect(out.tasks['f-old']?.reason).toBe('max_age');
    expect(out.tasks['f-new']?.reason).toBeNull();
    expect(Math.abs((out.tasks['f-old']?.age_s ?? 0) - 10 * 86_400)).toBeLessThan(60);
    // Sizes are allocated bytes, as du counts them.
    const du = Number(execFileSync('du', ['-s', '-B1', sandboxOf(layout, standardAgent()[0] as TaskSpec)]).toString().split('\t')[0]);
    expect(out.tasks['f-old']?.sandbox_bytes).toBe(du);
    expect(out.deleted).toEqual([]);
    expect(out.freed_bytes).toBe(0);
    expect(out.freed_inodes).toBe(0);
    expect(out.refused).toEqual({});
  });

  it('--dry-run changes nothing on disk', async () => {
    await writeAgent(layout, standardAgent(), Date.now());
    const before = await hashTree(base);
    const r = await collect([...roots(), '--max-tasks', '0', '--delete-logs', '--delete-metadata', '--include-linked', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('f-linked');
    expect(r.stdout).toContain('dry run');
    expect(await hashTree(base)).toBe(before);
  });

  it('deletes the selection with --yes and keeps everything else', async () => {
    const specs = standardAgent();
    await writeAgent(layout, specs, Date.now());
    const r = await collect([...roots(), '--max-tasks', '1', '--delete-logs', '--delete-metadata', '--yes', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as CollectJson;
    expect(out.selected).toEqual(['f-old', 'f-mid']);
    expect(out.deleted).toEqual(['f-old', 'f-mid']);
    expect(out.freed_bytes).toBeGreaterThanOrEqual(96 * KIB);
    expect(out.freed_inodes).toBeGreaterThan(0);
    for (const s of specs) {
      const gone = out.deleted.includes(s.id);
      expect(await exists(sandboxOf(layout, s)), s.id).toBe(!gone);
      expect(await exists(path.join(layout.checkpointRoot, 'tasks', s.state, s.id)), s.id).toBe(!gone);
      expect(await exists(path.join(layout.checkpointRoot, 'checkpoints', s.id)), s.id).toBe(!gone);
      expect(await exists(path.join(layout.checkpointRoot, 'logs', s.id)), s.id).toBe(!gone);
    }
  });

  it('keeps logs and metadata by default', async () => {
    await writeAgent(layout, standardAgent(), Date.now());
    const r = await collect([...roots(), '--max-age', '7d', '--yes', '--json']);
    const out = JSON.parse(r.stdout) as CollectJson;
    expect(out.deleted).toEqual(['f-old']);
    expect(await exists(path.join(layout.mesosRoot, 'sandboxes', 'f-old'))).toBe(false);
    expect(await exists(path.join(layout.checkpointRoot, 'tasks', 'finished', 'f-old'))).toBe(true);
    expect(await exists(path.join(layout.checkpointRoot, 'logs', 'f-old'))).toBe(true);
  });

  it('refuses to delete without --yes when there is no terminal, and asks on one', async () => {
    await writeAgent(layout, standardAgent(), Date.now());
    const before = await hashTree(base);
    const noTty = await collect([...roots(), '--max-age', '7d']);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toContain('no terminal');
    expect(await hashTree(base)).toBe(before);

    const declined = await collect([...roots(), '--max-age', '7d'], { tty: true, input: 'n\n' });
    expect(declined.code).toBe(0);
    expect(declined.stderr).toContain('[y/N]');
    expect(await hashTree(base)).toBe(before);

    const yes = await collect([...roots(), '--max-age', '7d'], { tty: true, input: 'yes\n' });
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain('deleted 1 task(s)');
    expect(await exists(path.join(layout.mesosRoot, 'sandboxes', 'f-old'))).toBe(false);
  });

  it('named tasks: selected as "named" with no limit, limits apply within them, others refused', async () => {
    await writeAgent(layout, standardAgent(), Date.now());
    const named = JSON.parse((await collect([...roots(), '--dry-run', '--json', 'f-new', 'f-mid', 'a-live', 'f-linked', 'nope'])).stdout) as CollectJson;
    expect(named.selected).toEqual(['f-mid', 'f-new']);
    expect(Object.keys(named.tasks).sort()).toEqual(['f-mid', 'f-new']);
    expect(named.tasks['f-new']?.reason).toBe('named');
    expect(Object.keys(named.refused).sort()).toEqual(['a-live', 'f-linked', 'nope']);

    const limited = JSON.parse((await collect([...roots(), '--dry-run', '--json', '--max-age', '3d', 'f-new', 'f-mid'])).stdout) as CollectJson;
    expect(limited.selected).toEqual(['f-mid']);
    expect(limited.tasks['f-new']?.reason).toBeNull();
  });

  it('exits 2 on a missing checkpoint root or a bad option, and documents named ids in --help', async () => {
    expect((await collect(['--checkpoint-root', path.join(base, 'missing'), '--max-age', '1d'])).code).toBe(2);
    expect((await collect([...roots(), '--max-age', 'soon'])).code).toBe(2);
    expect((await collect([...roots(), '--keep-logs', '--delete-logs'])).code).toBe(2);
    expect((await collect([...roots(), '--bogus'])).code).toBe(2);
    const help = await collect(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('"named"');
  });

  it('selects what an independent implementation of the policy selects, on generated agents', async () => {
    const spec = fc.uniqueArray(
      fc.record({
        id: fc.stringMatching(/^[a-z]{2,5}$/),
        state: fc.constantFrom('finished', 'finished', 'finished', 'active') as fc.Arbitrary<'finished' | 'active'>,
        ageDays: fc.integer({ min: 0, max: 15 }),
        kib: fc.integer({ min: 0, max: 40 }),
        linked: fc.boolean(),
      }),
      { selector: (t) => t.id, minLength: 1, maxLength: 8 },
    );
    const options = fc.record({
      maxAgeDays: fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined }),
      maxSpaceKib: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
      maxTasks: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
      deleteLogs: fc.boolean(),
      deleteMetadata: fc.boolean(),
      includeLinked: fc.boolean(),
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(spec, options, async (tasks, o) => {
        const dir = path.join(base, `agent-${n++}`);
        const l = { checkpointRoot: path.join(dir, 'ckpt'), mesosRoot: path.join(dir, 'mesos') };
        const now = Date.now();
        await writeAgent(
          l,
          tasks.map((t) => ({ id: t.id, state: t.state, ageMs: t.ageDays * DAY + 30_000, sandboxBytes: t.kib * KIB, linked: t.linked })),
          now,
        );
        const args = ['--checkpoint-root', l.checkpointRoot, '--mesos-root', l.mesosRoot, '--dry-run', '--json'];
        if (o.maxAgeDays !== undefined) args.push('--max-age', `${o.maxAgeDays}d`);
        if (o.maxSpaceKib !== undefined) args.push('--max-space', `${o.maxSpaceKib}K`);
        if (o.maxTasks !== undefined) args.push('--max-tasks', String(o.maxTasks));
        if (o.deleteLogs) args.push('--delete-logs');
        if (o.deleteMetadata) args.push('--delete-metadata');
        if (o.includeLinked) args.push('--include-linked');
        const out = JSON.parse((await collect(args)).stdout) as CollectJson;

        // Candidates: finished, and unlinked unless --include-linked.
        const eligible = tasks.filter((t) => t.state === 'finished' && (o.includeLinked || !t.linked));
        expect(Object.keys(out.tasks).sort()).toEqual(eligible.map((t) => t.id).sort());
        const cands = eligible.map((t) => {
          const m = out.tasks[t.id];
          return { taskId: t.id, ageMs: (m?.age_s ?? 0) * 1000, sandboxBytes: m?.sandbox_bytes ?? 0, logBytes: m?.log_bytes ?? 0, metadataBytes: m?.metadata_bytes ?? 0 };
        });
        const limits = {
          deleteLogs: o.deleteLogs,
          deleteMetadata: o.deleteMetadata,
          named: false,
          ...(o.maxAgeDays === undefined ? {} : { maxAgeMs: o.maxAgeDays * DAY }),
          ...(o.maxSpaceKib === undefined ? {} : { maxSpaceBytes: o.maxSpaceKib * KIB }),
          ...(o.maxTasks === undefined ? {} : { maxTasks: o.maxTasks }),
        };
        const want = naiveSelection(cands, limits);
        for (const c of cands) expect(out.tasks[c.taskId]?.reason ?? null, c.taskId).toBe(want.get(c.taskId) ?? null);
        expect(new Set(out.selected)).toEqual(new Set(cands.filter((c) => want.get(c.taskId) !== null).map((c) => c.taskId)));
        // Ages come from the runner checkpoint's mtime.
        for (const t of eligible) expect(Math.abs((out.tasks[t.id]?.age_s ?? 0) - (t.ageDays * DAY + 30_000) / 1000)).toBeLessThan(60);
        await rm(dir, { recursive: true, force: true });
      }),
      { numRuns: 25 },
    );
  });
});
