// The generator's presets write what they say, and the project's own scan and `plan` read them as
// the generator reports: linked executors are exactly the ones with a run dir, corrupt runner
// checkpoints are scan errors with the code of their kind, a runner checkpoint cut mid-write is
// an ERR_CKPT_TRUNCATED error (the replay keeps no prefix of it), and the options' defaults leave
// the original agent byte for byte as it was.
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planOutput, scanForPlan, type PlanOutput, type PlanScan } from '../../src/cli/plan.js';
import { FOR_RECONCILE } from '../../src/cli/scan-roots.js';
import { isInSyncActive } from '../../src/core/reconcile.js';
import { defaultConfig } from '../../src/config.js';
import { MAX_RECORD_BYTES, frameLengthAt } from '../../src/core/checkpoint/recordio.js';
import { replayTaskSummary } from '../../src/core/checkpoint/replay.js';
import { decodeCheckpointStream, encodeCheckpointStream } from '../../src/core/checkpoint/runner-ckpt.js';
import type { RunnerCkpt } from '../../src/core/records.js';
import { classifyScheduleStatus, scheduleStatusName } from '../../src/core/states.js';
import { isSafeTaskId } from '../../src/core/task-id.js';
import { TType } from '../../src/core/thrift/binary-reader.js';
import { DecodeError, type ErrorCode } from '../../src/errors.js';
import { linkedExecutors } from '../../src/io/executor-detector.js';
import { detectTasks } from '../../src/io/task-detector.js';
import { AGENT_PRESETS, generatePresetAgent, presetOptions, type AgentPresetName } from '../../src/sim/agent-presets.js';
import { CORRUPT_KINDS, generateAgent, type CorruptKind, type DenseAgent, type DenseAgentOptions } from '../../src/sim/dense-agent.js';
import { runCli } from '../helpers/cli-capture.js';

const NOW_MS = 1_750_000_000_000;
const TASKS = 300;
const BASE: DenseAgentOptions = { tasks: TASKS, filesPerSandbox: 2, fileBytes: 64, seed: 42, nowMs: NOW_MS, uid: 1000 };
const PRESETS: AgentPresetName[] = ['dense', 'mesos-history', 'restarts'];
const ERROR_OF_KIND: Record<CorruptKind, ErrorCode> = {
  garbage: 'ERR_CKPT_RECORD_TOO_LARGE',
  'length-overflow': 'ERR_CKPT_TRUNCATED',
  'unknown-member': 'ERR_CKPT_EMPTY_UNION',
  'wrong-type': 'ERR_CKPT_BAD_TYPE',
};

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'agent-presets-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

function executorsDir(a: DenseAgent): string {
  return path.join(a.mesosRoot, 'slaves', 'S0', 'frameworks', 'F0', 'executors');
}

function localIds(a: DenseAgent): string[] {
  return [...a.taskIds.active, ...a.taskIds.finished];
}

/**
 * A digest of everything the generator writes and returns that does not depend on where: the
 * tree (names, link targets, contents, checkpoint mtimes), checkpoints as their decoded records
 * (checked to re-encode to the very bytes), and the result's fields.
 */
async function fingerprint(a: DenseAgent): Promise<string> {
  const h = createHash('sha256');
  const rel = (s: string): string => s.split(a.dir).join('<D>');
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = path.join(d, name);
      const st = await lstat(p);
      if (st.isSymbolicLink()) h.update(`L ${rel(p)} ${await readlink(p)}\n`);
      else if (st.isDirectory()) {
        h.update(`D ${rel(p)}\n`);
        await walk(p);
      } else {
        const buf = await readFile(p);
        if (name === 'runner' || name.startsWith('coordinator.')) {
          const recs = decodeCheckpointStream(buf);
          expect(encodeCheckpointStream(recs).equals(buf)).toBe(true);
          h.update(`C ${rel(p)} ${Math.round(st.mtimeMs)} ${rel(JSON.stringify(recs))}\n`);
        } else {
          h.update(`F ${rel(p)} ${rel(buf.toString('latin1'))}\n`);
        }
      }
    }
  };
  await walk(a.dir);
  h.update(
    rel(
      JSON.stringify({
        checkpointRoot: a.checkpointRoot,
        mesosRoot: a.mesosRoot,
        sandboxRoot: a.sandboxRoot,
        logRoot: a.logRoot,
        taskIds: a.taskIds,
        linked: [...a.linked],
        retained: [...a.retained],
        schedulerOnly: a.schedulerOnly,
        runnerCheckpoints: a.runnerCheckpoints,
        sandboxes: [...a.sandboxes],
        nowMs: a.nowMs,
        files: a.files,
      }),
    ),
  );
  return h.digest('hex');
}

describe('defaults: the original agent, unchanged', () => {
  const small: DenseAgentOptions = { tasks: 120, filesPerSandbox: 2, fileBytes: 64, seed: 42, nowMs: NOW_MS, uid: 1000, runsPerProcess: 2 };
  // Computed with the generator as it was before the new options existed (same options): the
  // default path must keep its PRNG draws and its bytes.
  const GOLDEN = '48da87eec370608ef2d8cbbe731473f2a5f65eb38883f22611131772437481a9';

  it('matches the digest of the generator before the new options', async () => {
    const a = await generateAgent(await tempDir(), small);
    expect(await fingerprint(a)).toBe(GOLDEN);
    expect(a.checkpointRoots).toEqual([a.checkpointRoot]);
    expect(a.corrupt.size + a.truncated.size).toBe(0);
  });

  it('gives the same agent when every new option is passed at its default, and for the dense preset', async () => {
    const explicit = await generateAgent(await tempDir(), {
      ...small,
      executorHistory: false,
      coordinatorFiles: false,
      corruptShare: 0,
      truncatedShare: 0,
      checkpointRoots: 1,
      idLength: 'short',
    });
    const dense = await generatePresetAgent(await tempDir(), 'dense', small);
    expect(await fingerprint(explicit)).toBe(GOLDEN);
    expect(await fingerprint(dense)).toBe(GOLDEN);
  });

  it('a different seed gives a different agent (the digest can tell)', async () => {
    const other = await generateAgent(await tempDir(), { ...small, seed: 43 });
    expect(await fingerprint(other)).not.toBe(GOLDEN);
  });
});

describe('preset definitions', () => {
  it('are the documented option sets, and presetOptions copies them', () => {
    expect(AGENT_PRESETS.dense).toEqual({});
    expect(AGENT_PRESETS['mesos-history']).toEqual({
      executorHistory: true,
      linkedShare: 0.2,
      processesPerTaskRange: [1, 3],
      coordinatorFiles: true,
      corruptShare: 0.125,
      idLength: 'aurora',
    });
    expect(AGENT_PRESETS.restarts).toEqual({
      runsPerProcess: 4,
      truncatedShare: 0.1,
      checkpointRoots: 2,
      coordinatorFiles: true,
      executorHistory: true,
      linkedShare: 0.3,
      processesPerTaskRange: [1, 3],
    });
    const copy = presetOptions('restarts');
    expect(copy).toEqual(AGENT_PRESETS.restarts);
    (copy.processesPerTaskRange as unknown as number[])[1] = 9;
    expect(AGENT_PRESETS.restarts.processesPerTaskRange).toEqual([1, 3]);
    expect(() => presetOptions('nope' as AgentPresetName)).toThrow(RangeError);
  });

  it('refuses option values it cannot honour', async () => {
    const d = await tempDir();
    await expect(generateAgent(d, { tasks: 1, processesPerTaskRange: [2, 1] })).rejects.toThrow(RangeError);
    await expect(generateAgent(d, { tasks: 1, corruptShare: 0.7, truncatedShare: 0.5 })).rejects.toThrow(RangeError);
    await expect(generateAgent(d, { tasks: 1, checkpointRoots: 0 })).rejects.toThrow(RangeError);
  });

  it('is deterministic for a seed, damage and ids included', async () => {
    const opts = { ...BASE, tasks: 80 };
    const a = await generatePresetAgent(await tempDir(), 'mesos-history', opts);
    const b = await generatePresetAgent(await tempDir(), 'mesos-history', opts);
    expect(b.taskIds).toEqual(a.taskIds);
    expect([...b.retained]).toEqual([...a.retained]);
    expect([...b.linked]).toEqual([...a.linked]);
    expect([...b.corruptKinds]).toEqual([...a.corruptKinds]);
    for (const id of a.corrupt) {
      if (a.corruptKinds.get(id) !== 'garbage') continue;
      const i = localIds(a).indexOf(id);
      expect(await readFile(b.runnerCheckpoints[i] as string)).toEqual(await readFile(a.runnerCheckpoints[i] as string));
    }
  });
});

describe.each(PRESETS)('preset %s', (preset) => {
  const o = { ...BASE, ...AGENT_PRESETS[preset] };
  const runs = o.runsPerProcess ?? 1;
  let a: DenseAgent;
  let scan: PlanScan;
  let plan: PlanOutput;
  let retainedFile: string;

  beforeAll(async () => {
    const dir = await tempDir();
    a = await generatePresetAgent(path.join(dir, 'agent'), preset, BASE);
    scan = await scanForPlan({
      ...defaultConfig(),
      checkpointRoots: a.checkpointRoots,
      mesosRoot: a.mesosRoot,
      sandboxRoots: [a.sandboxRoot],
      workers: 0,
    }, undefined, FOR_RECONCILE);
    retainedFile = path.join(dir, 'retained.json');
    const retained: Record<string, string> = {};
    for (const [id, s] of a.retained) retained[id] = scheduleStatusName(s);
    await writeFile(retainedFile, JSON.stringify(retained));
    const args = ['plan', '--mesos-root', a.mesosRoot, '--sandbox-root', a.sandboxRoot, '--retained', retainedFile, '--now', String(NOW_MS / 1000), '--json'];
    for (const root of a.checkpointRoots) args.push('--checkpoint-root', root);
    const res = await runCli(args);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    plan = JSON.parse(res.stdout) as PlanOutput;
  });

  it('spreads the tasks over its checkpoint roots, with runnerCheckpoints pointing into the right one', async () => {
    const n = o.checkpointRoots ?? 1;
    expect(a.checkpointRoots).toEqual([path.join(a.dir, 'thermos'), ...Array.from({ length: n - 1 }, (_, i) => path.join(a.dir, `thermos${i + 1}`))]);
    expect(a.checkpointRoot).toBe(a.checkpointRoots[0]);
    const found = await detectTasks(a.checkpointRoots);
    expect(found.rejected).toEqual([]);
    expect(found.tasks.filter((t) => t.state === 'active').map((t) => t.taskId).sort()).toEqual([...a.taskIds.active].sort());
    expect(found.tasks.filter((t) => t.state === 'finished').map((t) => t.taskId).sort()).toEqual([...a.taskIds.finished].sort());
    const rootOf = new Map(found.tasks.map((t) => [t.taskId, t.root]));
    const ids = localIds(a);
    expect(a.runnerCheckpoints.length).toBe(ids.length);
    ids.forEach((id, i) => expect(a.runnerCheckpoints[i]).toBe(path.join(rootOf.get(id) as string, 'checkpoints', id, 'runner')));
    for (const root of a.checkpointRoots) expect(found.tasks.filter((t) => t.root === root).length).toBeGreaterThanOrEqual(Math.floor(TASKS / n));
    for (const f of a.runnerCheckpoints) expect((await stat(f)).isFile()).toBe(true);
  });

  it('links exactly the tasks whose executor has a run dir R0, and keeps executor history as configured', async () => {
    const ex = executorsDir(a);
    const withR0 = new Set<string>();
    const onlyLatest = new Set<string>();
    const none = new Set<string>();
    for (const id of localIds(a)) {
      const runsDir = path.join(ex, `thermos-${id}`, 'runs');
      if (!(await exists(runsDir))) {
        none.add(id);
        continue;
      }
      const entries = (await readdir(runsDir)).sort();
      expect(await readlink(path.join(runsDir, 'latest'))).toBe('R0');
      if (entries.includes('R0')) {
        expect(entries).toEqual(['R0', 'latest']);
        expect((await stat(path.join(runsDir, 'R0'))).isDirectory()).toBe(true);
        withR0.add(id);
      } else {
        expect(entries).toEqual(['latest']);
        await expect(stat(path.join(runsDir, 'latest'))).rejects.toThrow(/ENOENT/); // dangling
        onlyLatest.add(id);
      }
    }
    expect([...withR0].sort()).toEqual([...a.linked].sort());
    expect([...(await linkedExecutors(a.mesosRoot))].sort()).toEqual([...a.linked].sort());
    expect([...scan.linked].sort()).toEqual([...a.linked].sort());
    const share = o.linkedShare ?? 0.2;
    expect(a.linked.size).toBeGreaterThan(TASKS * share * 0.6);
    expect(a.linked.size).toBeLessThan(TASKS * share * 1.4);
    if (o.executorHistory === true) {
      expect(none.size).toBe(0);
      expect(onlyLatest.size).toBe(TASKS - a.linked.size);
    } else {
      // Half of the unlinked executors were collected entirely, half left a dangling latest.
      expect(none.size).toBeGreaterThan(0);
      expect(onlyLatest.size).toBeGreaterThan(0);
    }
  });

  it('writes the processes, runs, logs and coordinator checkpoints of each task', async () => {
    const [min, max] = o.processesPerTaskRange ?? [o.processesPerTask ?? 2, o.processesPerTask ?? 2];
    const counts = new Set<number>();
    const ids = localIds(a);
    for (const [i, id] of ids.entries()) {
      const runner = a.runnerCheckpoints[i] as string;
      const root = path.dirname(path.dirname(path.dirname(runner)));
      const state = i < a.taskIds.active.length ? 'active' : 'finished';
      const n = (JSON.parse(await readFile(path.join(root, 'tasks', state, id), 'utf8')) as { processes: number }).processes;
      expect(n).toBeGreaterThanOrEqual(min);
      expect(n).toBeLessThanOrEqual(max);
      counts.add(n);
      const names = Array.from({ length: n }, (_, p) => `proc${p}`);
      for (const name of names) expect((await readdir(path.join(a.logRoot, id, name))).sort()).toEqual(Array.from({ length: runs }, (_, r) => String(r)));
      const f = scan.facts.get(id);
      expect(f).toBeDefined();
      if (f?.error === undefined) expect(f?.processRuns).toEqual(Object.fromEntries(names.map((p) => [p, runs])));
      const listing = (await readdir(path.dirname(runner))).sort();
      if (o.coordinatorFiles !== true) {
        expect(listing).toEqual(['runner']);
        continue;
      }
      expect(listing).toEqual([...names.map((p) => `coordinator.${p}`), 'runner'].sort());
      const runnerRecs: RunnerCkpt[] | undefined = a.corrupt.has(id) || a.truncated.has(id) ? undefined : decodeCheckpointStream(await readFile(runner));
      for (const name of names) {
        const coord = decodeCheckpointStream(await readFile(path.join(path.dirname(runner), `coordinator.${name}`)));
        expect(coord.length).toBeGreaterThanOrEqual(runs * 3);
        for (const r of coord) expect(r.kind === 'process' && r.process.process === name).toBe(true);
        if (runnerRecs !== undefined) expect(coord).toEqual(runnerRecs.filter((r) => r.kind === 'process' && r.process.process === name));
      }
    }
    expect(counts).toEqual(new Set(Array.from({ length: max - min + 1 }, (_, k) => min + k)));
  });

  it('shapes the ids as configured, every one a safe task id', () => {
    const ids = [...localIds(a), ...a.schedulerOnly];
    for (const id of ids) expect(isSafeTaskId(id)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const mean = ids.reduce((s, id) => s + id.length, 0) / ids.length;
    if (o.idLength === 'aurora') {
      const aurora = /^42-[a-z]+(?:-[a-z]+)*-(?:prod|staging|devel)-[a-z_]+_\d+-\d+-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      for (const id of ids) expect(id).toMatch(aurora);
      // Today's ids are ~30 characters: these are 30+ longer.
      expect(mean).toBeGreaterThan(30 + 35);
    } else {
      for (const id of localIds(a)) expect(id).toMatch(/^42-www-data-prod-job\d+-0-[0-9a-f]{8}$/);
      expect(mean).toBeLessThan(36);
    }
  });

  it('keeps the scheduler view consistent with the node', () => {
    const ids = new Set(localIds(a));
    expect(ids.size).toBe(TASKS);
    expect(a.sandboxes.size).toBe(TASKS);
    for (const id of ids) expect(a.sandboxes.get(id)).toBe(path.join(a.sandboxRoot, id));
    for (const id of a.linked) expect(ids.has(id)).toBe(true);
    for (const id of a.schedulerOnly) {
      expect(ids.has(id)).toBe(false);
      expect(a.retained.has(id)).toBe(true);
    }
    for (const id of a.retained.keys()) expect(ids.has(id) || a.schedulerOnly.includes(id)).toBe(true);
    expect(new Set(scan.facts.keys())).toEqual(ids);
    for (const id of a.taskIds.active) expect(scan.facts.get(id)?.state).toBe('active');
    for (const id of a.taskIds.finished) expect(scan.facts.get(id)?.state).toBe('finished');
  });

  it('damages the share of runner checkpoints it reports, and the scan reports each as an error of its kind', async () => {
    const ids = localIds(a);
    const corruptShare = o.corruptShare ?? 0;
    const truncatedShare = o.truncatedShare ?? 0;
    for (const [set, share] of [[a.corrupt, corruptShare], [a.truncated, truncatedShare]] as const) {
      if (share === 0) expect(set.size).toBe(0);
      else {
        expect(set.size).toBeGreaterThan(TASKS * share * 0.5);
        expect(set.size).toBeLessThan(TASKS * share * 1.6);
      }
    }
    for (const id of a.corrupt) expect(a.truncated.has(id)).toBe(false);
    expect(new Set(a.corruptKinds.keys())).toEqual(a.corrupt);
    if (a.corrupt.size > 0) expect(new Set(a.corruptKinds.values())).toEqual(new Set(CORRUPT_KINDS));

    for (const [i, id] of ids.entries()) {
      const f = scan.facts.get(id);
      const bytes = await readFile(a.runnerCheckpoints[i] as string);
      const kind = a.corruptKinds.get(id);
      if (kind !== undefined) {
        expect(f?.error?.code).toBe(ERROR_OF_KIND[kind]);
        expect(f?.statuses).toEqual([]);
        expect(() => replayTaskSummary(bytes)).toThrow(DecodeError);
        const first = bytes.readUInt32BE(0);
        if (kind === 'garbage') expect(first).toBeGreaterThan(MAX_RECORD_BYTES);
        else if (kind === 'length-overflow') expect(first).toBeGreaterThan(bytes.length);
        else {
          // A valid header record, then the bad one.
          const headerLen = frameLengthAt(bytes, 0);
          expect(decodeCheckpointStream(bytes.subarray(0, 4 + headerLen))[0]?.kind).toBe('header');
          const second = bytes.subarray(8 + headerLen);
          expect([second[0], second[1], second[2]]).toEqual(kind === 'unknown-member' ? [TType.I32, 0, 9] : [TType.STRING, 0, 3]);
        }
      } else if (a.truncated.has(id)) {
        // The replay refuses the whole stream; it keeps nothing of the valid records before the cut.
        expect(f?.error?.code).toBe('ERR_CKPT_TRUNCATED');
        expect(f?.statuses).toEqual([]);
        expect(f?.sandbox).toBeUndefined();
        let err: unknown;
        try {
          replayTaskSummary(bytes);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(DecodeError);
        expect((err as DecodeError).code).toBe('ERR_CKPT_TRUNCATED');
        // Every record but the last is whole; the last keeps its length prefix and part of its body.
        let pos = 0;
        for (;;) {
          const left = bytes.length - pos;
          const len = bytes.readUInt32BE(pos);
          if (len > left - 4) {
            expect(left).toBeGreaterThan(4);
            break;
          }
          pos += 4 + len;
        }
        const whole = replayTaskSummary(bytes.subarray(0, pos));
        expect(whole.header?.taskId).toBe(id);
        expect(whole.statuses.length).toBeGreaterThan(0);
      } else {
        expect(f?.error).toBeUndefined();
        expect(f?.statuses.length).toBeGreaterThan(0);
        expect(f?.sandbox).toBe(a.sandboxes.get(id));
      }
    }
  });

  it("plan's output, reading only what its decisions read, is the plan over every task's facts and every link", async () => {
    expect(scan.inSyncActive).toEqual([]);
    const config = { ...defaultConfig(), checkpointRoots: a.checkpointRoots, mesosRoot: a.mesosRoot, sandboxRoots: [a.sandboxRoot], workers: 0 };
    expect(planOutput(scan, a.retained, NOW_MS, config).output).toEqual(plan);
    const partial = await scanForPlan(config, a.retained);
    const inSync = localIds(a).filter((id) => a.taskIds.active.includes(id) && isInSyncActive('active', a.retained.get(id)));
    expect(inSync.length).toBeGreaterThan(0);
    expect([...partial.inSyncActive].sort()).toEqual(inSync.sort());
    for (const id of inSync) expect(partial.facts.has(id)).toBe(false);
    expect(partial.facts.size + partial.inSyncActive.length).toBe(scan.facts.size);
    expect([...partial.linked].every((id) => !partial.inSyncActive.includes(id))).toBe(true);
  });

  it('plans every task by the table: a damaged checkpoint has no states, so it is never killed or reported, only deleted as stale', () => {
    expect(plan.kill_budget_exceeded).toBeUndefined();
    const inGc = new Set(plan.local_gc);
    const gc = new Set(plan.garbage_collect);
    const terminate = new Set(plan.terminate);
    const active = new Set(a.taskIds.active);
    let damagedDeleted = 0;
    let reported = 0;
    for (const id of localIds(a)) {
      const s = a.retained.get(id);
      const cls = s === undefined ? 'absent' : classifyScheduleStatus(s);
      const damaged = a.corrupt.has(id) || a.truncated.has(id);
      const live = cls === 'active' || cls === 'starting';
      if (damaged) {
        expect(terminate.has(id)).toBe(false);
        expect(plan.updates[id]).toBeUndefined();
        // Every checkpoint is two days old: stale, so a damaged task the scheduler does not keep is deleted.
        const inSync = active.has(id) ? live : cls === 'terminal';
        expect(inGc.has(id)).toBe(!inSync);
        if (!inSync) damagedDeleted++;
      } else if (active.has(id)) {
        expect(terminate.has(id)).toBe(!live);
        expect(inGc.has(id)).toBe(false);
      } else {
        expect(plan.updates[id] !== undefined).toBe(live);
        if (live) reported++;
        expect(inGc.has(id)).toBe(cls === 'absent');
      }
      // Finished (or killed) tasks go unless Mesos still keeps their executor; local_gc ignores the link.
      const finishes = !active.has(id) || terminate.has(id);
      expect(gc.has(id)).toBe(inGc.has(id) || (finishes && !a.linked.has(id)));
    }
    expect(reported).toBeGreaterThan(0);
    if (a.corrupt.size + a.truncated.size > 0) expect(damagedDeleted).toBeGreaterThan(0);
    for (const id of a.schedulerOnly) {
      const cls = classifyScheduleStatus(a.retained.get(id) as number);
      expect(plan.remote_gc.includes(id)).toBe(cls === 'terminal');
      if (cls === 'active') expect(plan.updates[id]).toBe('LOST');
    }
  });
});
