// Broken checkpoints through full GC runs: each is a per-task finding (typed error, no states),
// the sandbox a broken header names is never deleted on its word, and the run goes on.
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCheckpointStream, encodeRunnerCkptRecord } from '../../src/core/checkpoint/runner-ckpt.js';
import type { ErrorCode } from '../../src/errors.js';
import { ScheduleStatus, TaskState } from '../../src/core/states.js';
import { readTaskFacts } from '../../src/io/task-facts-reader.js';
import { processRun, runnerRecords, writeTask, type TaskSpec } from '../helpers/checkpoint-builder.js';
import { addExecutor, addTaskFiles, exists, fillDir, gc, makeAgent, snapshotTree, type Agent } from './agent-fixture.js';

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.cleanup();
  agent = undefined;
});

const frame = (body: Buffer): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
};

/** A seeded byte generator, so a failure replays. */
function garbage(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Every broken stream, built from a valid task whose header names `sandbox`. */
function brokenStreams(a: Agent, id: string): Array<[string, Buffer, ErrorCode[]]> {
  const spec = a.finished(id);
  const valid = encodeCheckpointStream(runnerRecords(spec));
  const header = spec.header!;
  // Header (union field 1, struct) holding an unknown struct nested 200 deep.
  const nested = Buffer.concat([Buffer.from([12, 0, 1]), ...Array.from({ length: 200 }, () => Buffer.from([12, 0, 99])), Buffer.alloc(202)]);
  // Header whose ports map claims 2^31-1 entries.
  const hugeMap = Buffer.from([12, 0, 1, 13, 0, 6, 11, 10, 0x7f, 0xff, 0xff, 0xff, 0, 0]);
  // A header string claiming 2 GiB.
  const hugeString = Buffer.from([12, 0, 1, 11, 0, 3, 0x7f, 0xff, 0xff, 0xff, 0x41, 0, 0]);
  const twoHeaders = encodeCheckpointStream([
    ...runnerRecords(spec),
    { kind: 'header', header: { ...header, sandbox: a.sandbox('keeper') } },
  ]);
  const gap = encodeCheckpointStream([
    { kind: 'task', task: spec.statuses[0]! },
    { kind: 'header', header },
    ...processRun('hello', { final: 'SUCCESS' }).map((p, i) => ({ kind: 'process' as const, process: { ...p, seq: i < 2 ? i : i + 3 } })),
  ]);
  return [
    ['truncated', valid.subarray(0, valid.length - 3), ['ERR_CKPT_TRUNCATED']],
    ['garbage', garbage(4096, 7), ['ERR_CKPT_RECORD_TOO_LARGE', 'ERR_CKPT_TRUNCATED', 'ERR_CKPT_BAD_TYPE', 'ERR_CKPT_BAD_VALUE', 'ERR_CKPT_EMPTY_UNION', 'ERR_CKPT_DEPTH', 'ERR_REPLAY']],
    ['two-gib', Buffer.concat([Buffer.from([0x80, 0, 0, 0]), garbage(64, 3)]), ['ERR_CKPT_RECORD_TOO_LARGE']],
    ['all-ones', Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2]), ['ERR_CKPT_RECORD_TOO_LARGE']],
    ['nested', Buffer.concat([valid, frame(nested)]), ['ERR_CKPT_DEPTH']],
    ['huge-map', Buffer.concat([frame(hugeMap), valid]), ['ERR_CKPT_BAD_VALUE', 'ERR_CKPT_TRUNCATED']],
    ['huge-string', Buffer.concat([frame(hugeString), valid]), ['ERR_CKPT_BAD_VALUE', 'ERR_CKPT_TRUNCATED']],
    ['two-headers', twoHeaders, ['ERR_REPLAY']],
    ['seq-gap', gap, ['ERR_REPLAY']],
  ];
}

describe('broken checkpoints in a full GC run', () => {
  it('are per-task errors; no broken header gets its sandbox deleted; the rest of the run goes on', async () => {
    const a = (agent = await makeAgent());
    const keeper = a.active('keeper');
    await writeTask(a.root, keeper);
    await addTaskFiles(keeper);
    await addExecutor(a.mesos, 'keeper', true);
    const plain = a.finished('plain');
    await writeTask(a.root, plain);
    await addTaskFiles(plain);

    const cases = brokenStreams(a, 'template');
    const retained = new Map<string, number>([['keeper', ScheduleStatus.RUNNING]]);
    const written: string[] = [];
    for (const [name, bytes] of cases) {
      // Finished and unknown to the scheduler: its metadata may go, its sandbox cannot be known.
      const fin: TaskSpec = { taskId: `${name}-fin`, state: 'finished', statuses: [], runnerBytes: bytes, mtimeMs: a.startMs - 3_600_000 };
      // Active, retained: in sync whatever its checkpoint says.
      const act: TaskSpec = { taskId: `${name}-act`, state: 'active', statuses: [], runnerBytes: bytes, mtimeMs: a.startMs };
      // Active, unknown, freshly written: too unsure to kill or delete.
      const fresh: TaskSpec = { taskId: `${name}-fresh`, state: 'active', statuses: [], runnerBytes: bytes, mtimeMs: a.startMs };
      for (const s of [fin, act, fresh]) {
        await writeTask(a.root, s);
        written.push(s.taskId);
        await fillDir(a.sandbox(s.taskId), { 'data.bin': 'x' });
      }
      retained.set(act.taskId, ScheduleStatus.RUNNING);
    }

    // Each is a typed per-task error, read by the same reader the run uses.
    for (const [name, , codes] of cases) {
      const f = await readTaskFacts({ taskId: `${name}-fin`, root: a.root, state: 'finished' });
      expect(f.statuses, name).toEqual([]);
      expect(f.sandbox, name).toBeUndefined();
      expect(codes, `${name}: ${f.error?.code} ${f.error?.message}`).toContain(f.error?.code);
      expect(f.error?.taskId).toBe(`${name}-fin`);
    }

    const keeperBefore = await snapshotTree(a.sandbox('keeper'));
    const { report, driver } = await gc(a, retained);
    expect(report.deleted).toEqual([...cases.map(([n]) => `${n}-fin`), 'plain'].sort());
    expect(report.killed).toEqual([]);
    expect(await exists(a.sandbox('plain'))).toBe(false);
    for (const id of written) expect(await exists(path.join(a.sandbox(id), 'data.bin')), id).toBe(true);
    for (const [name] of cases) {
      expect(await exists(path.join(a.root, 'tasks', 'active', `${name}-act`))).toBe(true);
      expect(await exists(path.join(a.root, 'tasks', 'active', `${name}-fresh`))).toBe(true);
    }
    expect(await snapshotTree(a.sandbox('keeper'))).toEqual(keeperBefore);
    expect(driver.updates.at(-1)).toMatchObject({ taskId: 'gc-1', state: 'TASK_FINISHED' });
  });

  it('a checkpoint appended to while it is scanned reads as a valid prefix or a typed error, and the run goes on', async () => {
    const a = (agent = await makeAgent());
    const spec = a.active('growing', { mtimeMs: a.startMs });
    const w = await writeTask(a.root, spec);
    await addTaskFiles(spec);
    await addExecutor(a.mesos, 'growing', true);
    const other = a.finished('other');
    await writeTask(a.root, other);
    await addTaskFiles(other);
    const before = await snapshotTree(a.sandbox('growing'));

    // The writer appends ACTIVE statuses, each record in two writes, until told to stop.
    let stop = false;
    const rec = encodeRunnerCkptRecord({ kind: 'task', task: { state: TaskState.ACTIVE, timestampMs: a.startMs, runnerPid: 999_999, runnerUid: 33 } });
    const writer = (async () => {
      let n = 0;
      while (!stop) {
        await appendFile(w.runnerPath!, rec.subarray(0, 5));
        await new Promise<void>((r) => setImmediate(r));
        await appendFile(w.runnerPath!, rec.subarray(5));
        n++;
      }
      return n;
    })();

    const seen = new Set<string>();
    let lastCount = 0;
    for (let i = 0; i < 60; i++) {
      const f = await readTaskFacts({ taskId: 'growing', root: a.root, state: 'active' });
      if (f.error === undefined) {
        expect(f.statuses.length).toBeGreaterThanOrEqual(lastCount);
        lastCount = f.statuses.length;
        seen.add('ok');
      } else {
        expect(f.error.code).toBe('ERR_CKPT_TRUNCATED');
        seen.add(f.error.code);
      }
    }
    const { report } = await gc(a, new Map([['growing', ScheduleStatus.RUNNING]]));
    stop = true;
    const appended = await writer;
    expect(appended).toBeGreaterThan(0);
    expect(seen.has('ok')).toBe(true);
    expect(report.deleted).toEqual(['other']);
    expect(await snapshotTree(a.sandbox('growing'))).toEqual(before);
    const final = await readTaskFacts({ taskId: 'growing', root: a.root, state: 'active' });
    expect(final.error).toBeUndefined();
    expect(final.statuses.length).toBe(1 + appended);
  });
});
