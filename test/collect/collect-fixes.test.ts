// Two things noticed in `collect`: with metadata kept, a task collected earlier is done, not a
// candidate `--max-tasks` selects again; and tasks that share a sandbox count its size once.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CollectJson } from '../../src/report/collect-report.js';
import { runCli } from '../helpers/cli-capture.js';
import { sandboxOf, writeAgent, type AgentLayout, type TaskSpec } from './fixtures.js';

const DAY = 86_400_000;
const KIB = 1024;

let base: string;
let layout: AgentLayout;
beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'thermos-gc-collect-fixes-'));
  layout = { checkpointRoot: path.join(base, 'ckpt'), mesosRoot: path.join(base, 'mesos') };
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const roots = (): string[] => ['--checkpoint-root', layout.checkpointRoot, '--mesos-root', layout.mesosRoot];
const du = (dir: string): number => Number(execFileSync('du', ['-s', '-B1', dir]).toString().split('\t')[0]);

describe('collect', () => {
  it('with metadata kept, does not select an already collected task again, and says so', async () => {
    const specs: TaskSpec[] = [
      { id: 'f-old', state: 'finished', ageMs: 10 * DAY, sandboxBytes: 8 * KIB },
      { id: 'f-mid', state: 'finished', ageMs: 5 * DAY, sandboxBytes: 8 * KIB },
      { id: 'f-new', state: 'finished', ageMs: 1 * DAY, sandboxBytes: 8 * KIB },
    ];
    await writeAgent(layout, specs, Date.now());
    const first = await runCli(['collect', ...roots(), '--max-tasks', '2', '--yes', '--json']);
    expect(first.code).toBe(0);
    expect((JSON.parse(first.stdout) as CollectJson).deleted).toEqual(['f-old']);

    // f-old's task file and checkpoints are still there; its sandbox is gone: it is done.
    const again = await runCli(['collect', ...roots(), '--max-tasks', '2', '--yes', '--json']);
    expect(again.code).toBe(0);
    const out = JSON.parse(again.stdout) as CollectJson;
    expect(out.selected).toEqual([]);
    expect(out.deleted).toEqual([]);
    expect(Object.keys(out.tasks).sort()).toEqual(['f-mid', 'f-new']);
    expect(again.stderr).toContain('1 task(s) already collected');
    const text = await runCli(['collect', ...roots(), '--max-tasks', '2', '--dry-run']);
    expect(text.stdout).toContain('already collected');

    // With --delete-metadata it still has something to delete: a candidate again.
    const meta = JSON.parse((await runCli(['collect', ...roots(), '--max-tasks', '2', '--delete-metadata', '--dry-run', '--json'])).stdout) as CollectJson;
    expect(meta.selected).toEqual(['f-old']);
  });

  it('does not call a task whose checkpoint cannot be decoded "already collected": its sandbox is unknown', async () => {
    const specs: TaskSpec[] = [
      { id: 'f-bad', state: 'finished', ageMs: 10 * DAY, sandboxBytes: 8 * KIB },
      { id: 'f-good', state: 'finished', ageMs: 5 * DAY, sandboxBytes: 8 * KIB },
    ];
    await writeAgent(layout, specs, Date.now());
    const runner = path.join(layout.checkpointRoot, 'checkpoints', 'f-bad', 'runner');
    await writeFile(runner, Buffer.from([0x00, 0x00, 0x10, 0x00, 0x0c, 0x00]));
    const old = new Date(Date.now() - 10 * DAY);
    await utimes(runner, old, old);

    const json = await runCli(['collect', ...roots(), '--max-age', '1d', '--yes', '--json']);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as CollectJson;
    expect(out.deleted).toEqual(['f-good']);
    expect(json.stderr).toContain('1 task(s) with a sandbox unknown');
    expect(json.stderr).not.toContain('already collected');
    // Nothing of it was touched: its sandbox (never known to us), checkpoint and task file stay.
    expect(existsSync(sandboxOf(layout, specs[0] as TaskSpec))).toBe(true);
    expect(existsSync(runner)).toBe(true);
    expect(existsSync(path.join(layout.checkpointRoot, 'tasks', 'finished', 'f-bad'))).toBe(true);

    // The readable report says the same; f-good, collected now, is the one "already collected".
    const text = await runCli(['collect', ...roots(), '--max-age', '1d', '--dry-run']);
    expect(text.stdout).toContain('1 task(s) with a sandbox unknown');
    expect(text.stdout).toContain('1 task(s) already collected');
  });

  it('with --json --yes --delete-metadata, reports what each deletion freed, without walking the trees first', async () => {
    const specs: TaskSpec[] = [
      { id: 'f-old', state: 'finished', ageMs: 10 * DAY, sandboxBytes: 24 * KIB },
      { id: 'f-new', state: 'finished', ageMs: 1 * DAY, sandboxBytes: 8 * KIB },
    ];
    await writeAgent(layout, specs, Date.now());
    const sandboxDu = du(sandboxOf(layout, specs[0] as TaskSpec));
    const out = JSON.parse((await runCli(['collect', ...roots(), '--max-age', '7d', '--delete-logs', '--delete-metadata', '--yes', '--json'])).stdout) as CollectJson;
    expect(out.deleted).toEqual(['f-old']);
    const old = out.tasks['f-old'];
    expect(old?.sandbox_bytes).toBe(sandboxDu);
    expect((old?.sandbox_bytes ?? 0) + (old?.log_bytes ?? 0) + (old?.metadata_bytes ?? 0)).toBe(out.freed_bytes);
    expect(old?.log_bytes).toBeGreaterThan(0);
    expect(old?.metadata_bytes).toBeGreaterThan(0);
    // The kept one is still measured.
    expect(out.tasks['f-new']?.sandbox_bytes).toBe(du(sandboxOf(layout, specs[1] as TaskSpec)));
  });

  it('counts a sandbox shared by two tasks once, and not at all when a kept task shares it', async () => {
    const specs: TaskSpec[] = [
      { id: 'a-twin', state: 'finished', ageMs: 9 * DAY, sandboxBytes: 64 * KIB, sandboxRel: 'sandboxes/shared' },
      { id: 'b-twin', state: 'finished', ageMs: 8 * DAY, sandboxBytes: 64 * KIB, sandboxRel: 'sandboxes/shared' },
      { id: 'c-alone', state: 'finished', ageMs: 7 * DAY, sandboxBytes: 16 * KIB },
      { id: 'd-live', state: 'active', ageMs: 7 * DAY, sandboxBytes: 32 * KIB, sandboxRel: 'sandboxes/with-live' },
      { id: 'e-gone', state: 'finished', ageMs: 7 * DAY, sandboxBytes: 32 * KIB, sandboxRel: 'sandboxes/with-live' },
    ];
    await writeAgent(layout, specs, Date.now());
    const out = JSON.parse((await runCli(['collect', ...roots(), '--max-age', '1d', '--dry-run', '--json'])).stdout) as CollectJson;
    const shared = du(path.join(layout.mesosRoot, 'sandboxes', 'shared'));
    // The newest of the two (the one --max-space keeps first) carries it.
    expect(out.tasks['b-twin']?.sandbox_bytes).toBe(shared);
    expect(out.tasks['a-twin']?.sandbox_bytes).toBe(0);
    expect(out.tasks['c-alone']?.sandbox_bytes).toBe(du(sandboxOf(layout, specs[2] as TaskSpec)));
    expect(out.tasks['e-gone']?.sandbox_bytes).toBe(0);

    // --max-space sees the shared sandbox once: everything fits in one copy of it plus c-alone.
    const fit = shared + du(sandboxOf(layout, specs[2] as TaskSpec));
    const spaced = JSON.parse((await runCli(['collect', ...roots(), '--max-space', String(fit), '--dry-run', '--json'])).stdout) as CollectJson;
    expect(spaced.tasks['b-twin']?.reason).toBeNull();
    expect(spaced.tasks['a-twin']?.reason).toBeNull();
  });
});
