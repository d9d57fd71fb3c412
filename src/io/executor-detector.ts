// Executors Mesos still keeps: `slaves/*/frameworks/*/executors/*/runs/*` under the work dir.
// `runs/latest` is a symlink to the newest run; an executor with nothing else under runs/ has
// had its run directories collected by Mesos and no longer counts.
import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { isDirectory } from './is-directory.js';

export interface ExecutorRun {
  agentId: string;
  frameworkId: string;
  executorId: string;
  runId: string;
  /** Absolute path of the run directory. */
  path: string;
}

export interface MesosScan {
  /** False when the work dir does not exist (an agent that has not run anything yet): worth a log line. */
  rootExists: boolean;
  executors: ExecutorRun[];
}

/** Splits the walk across threads: shard `index` of `count` takes the executors hashing to it. */
export interface ExecutorShard {
  index: number;
  count: number;
}

export interface WalkOptions {
  /** Read the run dirs of `thermos-` executors only (the only ones that can be linked). */
  thermosOnly?: boolean;
  shard?: ExecutorShard;
}

/** Which executors' runs the linked-ids walk reads. */
export interface LinkedLookup {
  shard?: ExecutorShard;
  /**
   * Only the executors of these task ids: a caller whose decisions read the links of some tasks
   * (those that may be deleted) skips one readdir per other executor. Absent: every executor.
   */
  only?: ReadonlySet<string>;
}

export const THERMOS_EXECUTOR_PREFIX = 'thermos-';
const LATEST = 'latest';

/** A directory, or a symlink to one: a run kept through a linked directory still protects its task. */
function isDirFollowing(p: string, isLink: boolean, isDir: boolean): boolean {
  if (!isLink) return isDir;
  try {
    return statSync(p).isDirectory();
  } catch {
    return false; // dangling link
  }
}

/** Whether a readdir entry of `dir` is a directory, or a link to one (only a link needs its path). */
function isDirEntry(dir: string, e: Dirent): boolean {
  return e.isSymbolicLink() ? isDirFollowing(path.join(dir, e.name), true, false) : e.isDirectory();
}

function readEntries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // an unreadable dir has none
  }
}

/** Every name in `dir` (none when it cannot be read), without file types. */
function entryNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Entries of `dir` that are directories or links to directories. */
function subdirs(dir: string, skip?: string): string[] {
  const out: string[] = [];
  for (const e of readEntries(dir)) if (e.name !== skip && isDirEntry(dir, e)) out.push(e.name);
  return out;
}

/** Whether `runsDir` holds a run directory other than `latest` (stops at the first one). */
function hasRealRun(runsDir: string): boolean {
  for (const e of readEntries(runsDir)) if (e.name !== LATEST && isDirEntry(runsDir, e)) return true;
  return false;
}

/**
 * Subdirectories of a directory by its link count (2 + subdirectories on ext4, xfs and tmpfs);
 * undefined where the count says nothing (btrfs, ext4 past 65,000, an unreadable dir).
 */
function subdirCount(dir: string): number | undefined {
  try {
    const n = statSync(dir).nlink;
    return n > 2 ? n - 2 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The executor names of `only`'s ids to look up in `executors` by name instead of listing it: when
 * the dir holds at least as many executors as ids are asked (a week of Mesos history holds one
 * per task), naming them skips a readdir of every entry. Undefined: list it. Either way the same
 * executors are found: a name that is not there (or not a directory) fails its runs/ readdir,
 * as a listed file would have been skipped. Only names a readdir could return are tried.
 */
function probedNames(executors: string, only: ReadonlySet<string> | undefined): string[] | undefined {
  if (only === undefined) return undefined;
  const count = subdirCount(executors);
  if (count === undefined || count < only.size) return undefined;
  const names: string[] = [];
  for (const id of only) if (id !== '' && !id.includes('/') && !id.includes('\0')) names.push(THERMOS_EXECUTOR_PREFIX + id);
  return names;
}

/** Receives one executor directory of the walk: its `runs` dir and where it sits. */
type ExecutorVisitor = (executorId: string, runsDir: string, agentId: string, frameworkId: string) => void;

function inShard(executorId: string, shard: ExecutorShard | undefined): boolean {
  return shard === undefined || shard.count <= 1 || shardOf(executorId, shard.count) === shard.index;
}

/**
 * The executor directories under `slaves/*\/frameworks/*\/executors/*`, one plain readdir per
 * level: the one walk both the linked-ids scan and the run listing use, with their filters. A
 * visitor, not a generator of records: the linked-ids scan visits thousands and keeps none.
 */
function forEachExecutorDir(mesosRoot: string, opts: WalkOptions & { linkable?: boolean; only?: ReadonlySet<string> }, visit: ExecutorVisitor): void {
  const slaves = path.join(path.resolve(mesosRoot), 'slaves');
  for (const agentId of subdirs(slaves)) {
    const frameworks = path.join(slaves, agentId, 'frameworks');
    for (const frameworkId of subdirs(frameworks)) {
      const executors = path.join(frameworks, frameworkId, 'executors');
      // Named ones are linkable and asked about by construction.
      const probed = opts.linkable === true ? probedNames(executors, opts.only) : undefined;
      if (probed !== undefined) {
        for (const executorId of probed) if (inShard(executorId, opts.shard)) visit(executorId, `${executors}/${executorId}/runs`, agentId, frameworkId);
        continue;
      }
      // The linked-ids scan reads each executor's runs/ anyway, which fails for an entry that is
      // not a directory (or a link to one): it needs the names only, not a type per entry.
      for (const executorId of opts.linkable === true ? entryNames(executors) : subdirs(executors)) {
        if (opts.linkable === true && (!executorId.startsWith(THERMOS_EXECUTOR_PREFIX) || executorId.length === THERMOS_EXECUTOR_PREFIX.length)) continue;
        if (opts.thermosOnly === true && !executorId.startsWith(THERMOS_EXECUTOR_PREFIX)) continue;
        if (opts.only !== undefined && !opts.only.has(executorId.slice(THERMOS_EXECUTOR_PREFIX.length))) continue;
        if (inShard(executorId, opts.shard)) visit(executorId, `${executors}/${executorId}/runs`, agentId, frameworkId);
      }
    }
  }
}

/**
 * The task ids whose `thermos-<task_id>` executor has a real run directory, by the same rules as
 * `walkExecutorRunsSync` + `linkedTaskIds`, without building a record per run (what the scan of
 * every command needs; one readdir per executor it reads). Sorted.
 */
export function linkedTaskIdsSync(mesosRoot: string, lookup: LinkedLookup = {}): string[] {
  const linked = new Set<string>();
  forEachExecutorDir(mesosRoot, { ...lookup, linkable: true }, (executorId, runsDir) => {
    if (hasRealRun(runsDir)) linked.add(executorId.slice(THERMOS_EXECUTOR_PREFIX.length));
  });
  return [...linked].sort();
}

/** FNV-1a over the UTF-16 code units: a stable shard for a name, whatever order readdir returns. */
export function shardOf(name: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/**
 * Every real run directory under `slaves/*\/frameworks/*\/executors/*\/runs/*`, with one plain
 * readdir per directory (a glob library's walk of 10,000 executors took ~800 ms against ~100 ms;
 * it blocks the calling thread that long, which workers and the CLIs accept). `latest` is
 * excluded by name whatever it points to; other symlinks are followed, erring towards keeping.
 */
export function walkExecutorRunsSync(mesosRoot: string, opts: WalkOptions = {}): ExecutorRun[] {
  const runs: ExecutorRun[] = [];
  forEachExecutorDir(mesosRoot, opts, (executorId, runsDir, agentId, frameworkId) => {
    for (const runId of subdirs(runsDir, LATEST)) runs.push({ agentId, frameworkId, executorId, runId, path: path.join(runsDir, runId) });
  });
  return runs;
}

/** Every real run directory under the Mesos work dir, sorted by path. */
export async function scanMesosRoot(mesosRoot: string): Promise<MesosScan> {
  const root = path.resolve(mesosRoot);
  if (!(await isDirectory(root))) return { rootExists: false, executors: [] };
  const executors = walkExecutorRunsSync(root);
  executors.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { rootExists: true, executors };
}

/** Real run directories; a missing work dir gives an empty list (use scanMesosRoot to tell). */
export async function detectExecutors(mesosRoot: string): Promise<ExecutorRun[]> {
  return (await scanMesosRoot(mesosRoot)).executors;
}

/** Task ids (of `only`, when given) whose `thermos-<task_id>` executor still has at least one real run directory. */
export function linkedTaskIds(executors: readonly ExecutorRun[], only?: ReadonlySet<string>): Set<string> {
  const linked = new Set<string>();
  for (const e of executors) {
    if (e.executorId.startsWith(THERMOS_EXECUTOR_PREFIX) && e.executorId.length > THERMOS_EXECUTOR_PREFIX.length) {
      const id = e.executorId.slice(THERMOS_EXECUTOR_PREFIX.length);
      if (only === undefined || only.has(id)) linked.add(id);
    }
  }
  return linked;
}

export async function linkedExecutors(mesosRoot: string): Promise<Set<string>> {
  return linkedTaskIds(await detectExecutors(mesosRoot));
}
