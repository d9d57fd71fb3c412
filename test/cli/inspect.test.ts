// `thermos-gc inspect`: the real Aurora checkpoints, and a root of thousands of tasks written by
// Apache Thrift's own implementation (the `thrift` package), decode to what was written.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerCkpt } from '../../src/core/records.js';
import { ProcessState, TaskState, processStateName, taskStateName } from '../../src/core/states.js';
import { oracleWrite, writeRunnerCkpt } from '../../bench/reference/thrift-oracle.js';
import { runCli } from '../helpers/cli-capture.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const conformance = path.resolve(repo, '../shared/conformance');
const haveConformance = existsSync(path.join(conformance, 'expected-runner-decode.json'));

interface Expected {
  header: Record<string, unknown>;
  process_records: Record<string, number>;
  state_dir: 'active' | 'finished';
  statuses: Array<Record<string, unknown>>;
}
type Entry = {
  root?: string;
  state?: string;
  header?: Record<string, unknown>;
  statuses?: Array<Record<string, unknown>>;
  processes?: Record<string, Array<Record<string, unknown>>>;
  error?: string;
};

describe.skipIf(!haveConformance)(`inspect on ${conformance} (skipped when that folder does not exist)`, () => {
  it('agrees with expected-runner-decode.json for all seven tasks', async () => {
    const expected = JSON.parse(readFileSync(path.join(conformance, 'expected-runner-decode.json'), 'utf8')) as Record<string, Expected>;
    const root = path.join(conformance, 'thermos-root');
    const res = await runCli(['inspect', '--checkpoint-root', root, '--json']);
    expect(res.code).toBe(0);
    const got = JSON.parse(res.stdout) as Record<string, Entry>;
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
    for (const [id, want] of Object.entries(expected)) {
      const e = got[id]!;
      expect(e.error).toBeUndefined();
      expect(e.root).toBe(root);
      expect(e.state).toBe(want.state_dir);
      // No uid and no log_dir in these headers: absent fields stay absent.
      expect(e.header).toEqual(want.header);
      expect(e.statuses).toEqual(want.statuses);
      // Each process's seq runs on across runs, so the last run's seq + 1 is its record count.
      const counts = Object.fromEntries(Object.entries(e.processes!).map(([n, runs]) => [n, (runs[runs.length - 1]!['seq'] as number) + 1]));
      expect(counts).toEqual(want.process_records);
    }
    expect(got['sleep60']!.processes!['sleep']![0]!['state']).toBe('KILLED');
    expect(got['failure']!.processes!['p3']).toHaveLength(3);
  });

  it('prints a readable table without --json', async () => {
    const res = await runCli(['inspect', '--checkpoint-root', path.join(conformance, 'thermos-root'), 'sleep60']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/sleep60\s+finished\s+KILLED\s+2/);
  });
});

/** A deterministic pseudo-random model of one task, written by the Thrift oracle. */
function modelTask(i: number): { id: string; records: RunnerCkpt[]; want: Entry } {
  const id = `role-env-job-${i}-${(i * 2654435761) % 100000}`;
  const launch = 1_700_000_000_000 + i * 1000;
  const finished = i % 3 !== 0;
  const header = { taskId: id, launchTimeMs: launch, sandbox: `/var/lib/mesos/s/${id}/sandbox`, logDir: `/var/lib/mesos/s/${id}/sandbox/.logs`, hostname: 'agent-1', user: 'www', uid: 1000 + (i % 7), ports: (i % 2 === 0 ? { http: 31000 + i } : {}) as Record<string, number> };
  const records: RunnerCkpt[] = [];
  const statuses: Array<Record<string, unknown>> = [];
  const pushStatus = (state: number, ts: number): void => {
    records.push({ kind: 'task', task: { state, timestampMs: ts, runnerPid: 5000 + i, runnerUid: header.uid } });
    statuses.push({ state: taskStateName(state), timestamp_ms: ts, runner_pid: 5000 + i, runner_uid: header.uid });
  };
  records.push({ kind: 'header', header });
  pushStatus(TaskState.ACTIVE, launch + 1);
  const processes: Record<string, Array<Record<string, unknown>>> = {};
  const nproc = 1 + (i % 3);
  for (let p = 0; p < nproc; p++) {
    const name = `proc_${p}`;
    const runs = 1 + ((i + p) % 2);
    let seq = 0;
    processes[name] = [];
    for (let r = 0; r < runs; r++) {
      const last = r === runs - 1;
      const fork = launch / 1000 + r * 10 + 0.25;
      const final = last && !finished ? ProcessState.RUNNING : last ? ProcessState.SUCCESS : ProcessState.FAILED;
      records.push({ kind: 'process', process: { seq: seq++, process: name, state: ProcessState.WAITING } });
      records.push({ kind: 'process', process: { seq: seq++, process: name, state: ProcessState.FORKED, coordinatorPid: 6000 + i, forkTime: fork } });
      records.push({ kind: 'process', process: { seq: seq++, process: name, state: ProcessState.RUNNING, pid: 7000 + i, startTime: fork + 0.5 } });
      const run: Record<string, unknown> = { seq: seq - 1, state: processStateName(ProcessState.RUNNING), coordinator_pid: 6000 + i, fork_time: fork, start_time: fork + 0.5, pid: 7000 + i };
      if (final !== ProcessState.RUNNING) {
        const rc = final === ProcessState.SUCCESS ? 0 : 1;
        records.push({ kind: 'process', process: { seq: seq++, process: name, state: final, stopTime: fork + 5, returnCode: rc } });
        Object.assign(run, { seq: seq - 1, state: processStateName(final), stop_time: fork + 5, return_code: rc });
      }
      processes[name]!.push(run);
    }
  }
  if (finished) pushStatus(TaskState.SUCCESS, launch + 60_000);
  const want: Entry = {
    state: finished ? 'finished' : 'active',
    header: { task_id: id, launch_time_ms: launch, sandbox: header.sandbox, log_dir: header.logDir, hostname: 'agent-1', user: 'www', uid: header.uid, ports: header.ports },
    statuses,
    processes,
  };
  return { id, records, want };
}

/** Frames a record the plain way (4-byte big-endian length), without the project's framing code. */
function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

describe('inspect on a root written by Apache Thrift (thrift npm package)', () => {
  const N = 2000;
  let root = '';
  const wants = new Map<string, Entry>();

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'thermos-gc-inspect-'));
    await mkdir(path.join(root, 'tasks', 'active'), { recursive: true });
    await mkdir(path.join(root, 'tasks', 'finished'), { recursive: true });
    for (let i = 0; i < N; i++) {
      const { id, records, want } = modelTask(i);
      want.root = root;
      wants.set(id, want);
      const bytes = Buffer.concat(records.map((rec) => frame(oracleWrite((p) => writeRunnerCkpt(p, rec)))));
      await mkdir(path.join(root, 'checkpoints', id), { recursive: true });
      await writeFile(path.join(root, 'checkpoints', id, 'runner'), bytes);
      await writeFile(path.join(root, 'tasks', want.state!, id), '{}');
    }
    // Broken neighbours: each gets its own error and nothing else is affected.
    const broken: Record<string, Buffer> = {
      truncated: Buffer.from([0, 0, 0, 40, 12, 0, 1]),
      garbage: Buffer.from('this is not a thrift checkpoint at all'),
      huge_length: Buffer.from([0x80, 0, 0, 0, 1, 2, 3]),
      empty_union: frame(Buffer.from([0])),
    };
    for (const [id, bytes] of Object.entries(broken)) {
      await mkdir(path.join(root, 'checkpoints', id), { recursive: true });
      await writeFile(path.join(root, 'checkpoints', id, 'runner'), bytes);
      await writeFile(path.join(root, 'tasks', 'finished', id), '{}');
    }
    await writeFile(path.join(root, 'tasks', 'active', 'no_checkpoint'), '{}');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it(`decodes all ${N} tasks exactly as written`, async () => {
    const res = await runCli(['inspect', '--checkpoint-root', root, '--json']);
    expect(res.code).toBe(0);
    const got = JSON.parse(res.stdout) as Record<string, Entry>;
    expect(Object.keys(got)).toHaveLength(N + 5);
    for (const [id, want] of wants) expect(got[id], id).toEqual(want);
  });

  it('gives corrupt checkpoints a per-task error and no header, statuses or processes', async () => {
    const res = await runCli(['inspect', '--checkpoint-root', root, '--json', 'truncated', 'garbage', 'huge_length', 'empty_union', 'no_checkpoint', modelTask(1).id]);
    const got = JSON.parse(res.stdout) as Record<string, Entry>;
    for (const id of ['truncated', 'garbage', 'huge_length', 'empty_union', 'no_checkpoint']) {
      expect(got[id]!.error, id).toEqual(expect.any(String));
      expect(got[id]!.header).toBeUndefined();
      expect(got[id]!.statuses).toBeUndefined();
      expect(got[id]!.processes).toBeUndefined();
    }
    expect(got['huge_length']!.error).toMatch(/large|length/i);
    expect(got['no_checkpoint']!.error).toMatch(/does not exist/);
    expect(got[modelTask(1).id]).toEqual(wants.get(modelTask(1).id));
  });

  it('reports an id that is not there', async () => {
    const res = await runCli(['inspect', '--checkpoint-root', root, '--json', 'nope']);
    expect(JSON.parse(res.stdout)).toEqual({ nope: { error: 'no such task under the checkpoint roots' } });
  });

  it('exits 2 with a clear message for a missing root', async () => {
    const res = await runCli(['inspect', '--checkpoint-root', path.join(root, 'missing'), '--json']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/checkpoint root .*missing.* cannot be read/);
    expect(res.stdout).toBe('');
  });
});
