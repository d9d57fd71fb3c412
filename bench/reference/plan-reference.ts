// `thermos-gc plan --json` as a careful first version in Node would do it: a benchmark
// reference, not part of thermos-gc. Plain synchronous `fs` (readdir, stat, readFile), Apache
// Thrift's own TBinaryProtocol decoder (the `thrift` npm package) over each RecordIO record,
// the replay rules, the reconciliation table, the same JSON on stdout. It shares no code with
// src/ so that its output is an independent check of `plan`'s.
//
//   node dist/bench/reference/plan-reference.js --checkpoint-root DIR --mesos-root DIR \
//       --retained FILE --now EPOCH_S [--minimum-kill-age-s 600] [--kill-budget 0.5]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import thrift from 'thrift';
import { readStruct } from './thrift-oracle.js';

type Protocol = InstanceType<typeof thrift.TBinaryProtocol>;
const T = thrift.Thrift.Type;
const toBigInt = (thrift as unknown as { toBigInt(v: unknown): bigint }).toBigInt;
const readI64 = (p: Protocol): number => Number(toBigInt(p.readI64()));

interface Status {
  state?: number;
  timestampMs?: number;
}
interface Proc {
  seq?: number;
  process?: string;
  state?: number;
}
interface Record_ {
  header?: { sandbox?: string };
  task?: Status;
  process?: Proc;
}

function readRecord(p: Protocol): Record_ {
  const rec: Record_ = {};
  readStruct(p, (id, type) => {
    if (type !== T.STRUCT) return false;
    if (id === 1) {
      const h: { sandbox?: string } = {};
      readStruct(p, (hid, htype) => {
        if (hid === 3 && htype === T.STRING) h.sandbox = p.readString();
        else return false;
        return true;
      });
      rec.header = h;
    } else if (id === 2) {
      const s: Proc = {};
      readStruct(p, (sid, stype) => {
        if (sid === 1 && stype === T.I64) s.seq = readI64(p);
        else if (sid === 3 && stype === T.STRING) s.process = p.readString();
        else if (sid === 5 && stype === T.I32) s.state = p.readI32();
        else return false;
        return true;
      });
      rec.process = s;
    } else if (id === 3) {
      const t: Status = {};
      readStruct(p, (tid, ttype) => {
        if (tid === 1 && ttype === T.I32) t.state = p.readI32();
        else if (tid === 2 && ttype === T.I64) t.timestampMs = readI64(p);
        else return false;
        return true;
      });
      rec.task = t;
    } else return false;
    return true;
  });
  return rec;
}

const ALLOWED: Record<number, number[]> = { 0: [1, 5], 1: [2, 4, 6], 2: [3, 5, 4, 6] };
const TERMINAL_PROCESS = new Set([3, 4, 5, 6]);

/** Task statuses of a runner checkpoint; throws for a stream that does not replay. */
function replay(file: string): Status[] {
  const data = readFileSync(file);
  const statuses: Status[] = [];
  const processes = new Map<string, { seq: number; state: number }>();
  let header = false;
  for (let pos = 0; pos < data.length; ) {
    if (pos + 4 > data.length) throw new Error('truncated frame header');
    const len = data.readUInt32BE(pos);
    if (len > 64 << 20 || pos + 4 + len > data.length) throw new Error('truncated record');
    const rec = readRecord(new thrift.TBinaryProtocol(new thrift.TFramedTransport(data.subarray(pos + 4, pos + 4 + len))));
    pos += 4 + len;
    if (rec.header !== undefined) {
      if (header) throw new Error('second header');
      header = true;
    } else if (rec.task !== undefined) {
      statuses.push(rec.task);
    } else if (rec.process !== undefined) {
      const p = rec.process;
      if (p.process === undefined) throw new Error('process status without name');
      const cur = processes.get(p.process);
      if (cur === undefined || TERMINAL_PROCESS.has(cur.state)) {
        if (p.state !== 0 || p.seq === undefined) throw new Error('run must start WAITING');
      } else if (p.seq !== cur.seq + 1 || p.state === undefined || !(ALLOWED[cur.state] ?? []).includes(p.state)) {
        throw new Error('bad process transition');
      }
      processes.set(p.process, { seq: p.seq as number, state: p.state as number });
    } else {
      throw new Error('empty union');
    }
  }
  for (const s of statuses) if (s.state === undefined || s.timestampMs === undefined) throw new Error('status without state or time');
  return statuses;
}

const TERMINAL = new Set(['FINISHED', 'FAILED', 'KILLED', 'LOST', 'SANDBOX_DELETED']);
const STARTING = new Set(['STARTING', 'ASSIGNED']);
const THERMOS_TO_SCHEDULE = ['RUNNING', 'FINISHED', 'FAILED', 'KILLED', 'LOST', 'RUNNING', 'RUNNING'];
const classify = (name: string): string => (TERMINAL.has(name) ? 'terminal' : STARTING.has(name) ? 'starting' : 'active');
const safeId = (id: string): boolean => id !== '' && id !== '.' && id !== '..' && !id.includes('/') && !id.includes('\0') && Buffer.byteLength(id) <= 255;
const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

function plainFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
}

function dirs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => {
      try {
        return statSync(path.join(dir, n)).isDirectory();
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'checkpoint-root': { type: 'string', multiple: true },
      'mesos-root': { type: 'string' },
      retained: { type: 'string' },
      now: { type: 'string' },
      'minimum-kill-age-s': { type: 'string', default: '600' },
      'kill-budget': { type: 'string', default: '0.5' },
    },
  });
  const roots = values['checkpoint-root'] ?? [];
  const mesos = values['mesos-root'] as string;
  const retained = new Map(Object.entries(JSON.parse(readFileSync(values.retained as string, 'utf8')) as Record<string, string>));
  const startMs = Number(values.now) * 1000;
  const killAgeMs = Number(values['minimum-kill-age-s']) * 1000;
  const budget = Number(values['kill-budget']);

  // Every root's tasks; the first root naming an id wins.
  const active = new Set<string>();
  const finished = new Set<string>();
  const rootOf = new Map<string, string>();
  for (const root of roots) {
    const hereActive = new Set(plainFiles(path.join(root, 'tasks', 'active')));
    const hereFinished = plainFiles(path.join(root, 'tasks', 'finished')).filter((id) => !hereActive.has(id));
    for (const [into, ids] of [[active, [...hereActive]], [finished, hereFinished]] as const) {
      for (const id of ids) {
        if (rootOf.has(id)) continue;
        rootOf.set(id, root);
        into.add(id);
      }
    }
  }

  const linked = new Set<string>();
  const slaves = path.join(mesos, 'slaves');
  for (const a of dirs(slaves)) {
    const fws = path.join(slaves, a, 'frameworks');
    for (const f of dirs(fws)) {
      const exs = path.join(fws, f, 'executors');
      for (const e of dirs(exs)) {
        if (!e.startsWith('thermos-') || e.length === 'thermos-'.length) continue;
        if (dirs(path.join(exs, e, 'runs')).some((r) => r !== 'latest')) linked.add(e.slice('thermos-'.length));
      }
    }
  }

  const terminate: string[] = [];
  const localGc: string[] = [];
  const remoteGc: string[] = [];
  const updates = new Map<string, string>();
  for (const id of sorted([...active, ...finished])) {
    if (!safeId(id)) continue;
    const file = path.join(rootOf.get(id) as string, 'checkpoints', id, 'runner');
    let mtime: number | undefined;
    let statuses: Status[] = [];
    try {
      mtime = statSync(file).mtimeMs;
      statuses = replay(file);
    } catch {
      statuses = [];
    }
    const stale = mtime !== undefined && startMs - mtime > killAgeMs;
    const name = retained.get(id);
    const sched = name === undefined ? 'absent' : classify(name);
    if (active.has(id)) {
      if (sched === 'active' || sched === 'starting') continue;
      const first = statuses[0];
      if (first !== undefined && startMs - (first.timestampMs as number) > killAgeMs) terminate.push(id);
      else if (stale) localGc.push(id);
    } else if (sched === 'absent') {
      localGc.push(id);
    } else if (sched !== 'terminal') {
      const last = statuses[statuses.length - 1];
      if (last !== undefined) updates.set(id, THERMOS_TO_SCHEDULE[last.state as number] ?? 'SANDBOX_DELETED');
      else if (stale) localGc.push(id);
    }
  }
  for (const [id, name] of retained) {
    if (active.has(id) || finished.has(id)) continue;
    const cls = classify(name);
    if (cls === 'terminal') remoteGc.push(id);
    else if (cls === 'active') updates.set(id, 'LOST');
  }

  let exceeded: string | undefined;
  const wouldKill = terminate.length;
  if (wouldKill > 0) {
    if (retained.size === 0 && active.size > 0) exceeded = 'empty-map';
    else if (wouldKill > 1 && wouldKill > budget * active.size) exceeded = 'share';
  }
  const kills = exceeded === undefined ? terminate : [];
  const gc = new Set<string>([...finished, ...kills].filter((id) => !linked.has(id)));
  for (const id of localGc) gc.add(id);
  const garbage = sorted([...gc].filter(safeId));
  const out: Record<string, unknown> = {
    terminate: sorted(kills),
    local_gc: sorted(localGc),
    remote_gc: sorted(remoteGc),
    updates: Object.fromEntries(sorted(updates.keys()).map((id) => [id, updates.get(id)])),
    garbage_collect: garbage,
    deleted_tasks: sorted(new Set([...remoteGc, ...garbage.filter((id) => retained.has(id))])),
  };
  if (exceeded !== undefined) out.kill_budget_exceeded = { would_kill: wouldKill, active: active.size, budget, why: exceeded };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main();
