// The limits of the cgroup a process is in, from the text of its kernel files. Pure: the reader
// (src/io/cgroup-limits.ts) hands in /proc/self/cgroup, /proc/self/mountinfo and the controller
// files it found, and gets back the limits and where each came from.
//
// cgroup v1: every controller is its own hierarchy; a limit set on an ancestor applies to its
// descendants, so the effective limit is the smallest one on the way up (memory.stat's
// hierarchical_memory_limit also has it, including ancestors above a container's mount). An
// unlimited v1 memory cgroup reads PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages);
// an unlimited cpu one reads cfs_quota_us -1. cgroup v2: one hierarchy, `memory.max` and `cpu.max`
// ("max" = none, "<quota> <period>").
import type { CgroupLimits, CgroupVersion } from '../config.js';

export type { CgroupLimits, CgroupVersion } from '../config.js';

export interface ProcCgroupEntry {
  hierarchyId: number;
  /** Controllers of a v1 hierarchy (`memory`, `cpu`, `cpuacct`, `name=systemd`); empty for v2. */
  controllers: string[];
  /** The process's cgroup, relative to its hierarchy's root. */
  path: string;
}

export interface CgroupMount {
  fsType: 'cgroup' | 'cgroup2';
  /** The directory of the hierarchy that is mounted (mountinfo field 4; `/` outside containers). */
  root: string;
  mountPoint: string;
  /** v1: the controllers, from the super options (`rw,memory`). */
  controllers: string[];
}

/** Parses /proc/<pid>/cgroup: `hierarchy-ID:controller-list:cgroup-path` per line. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = Number(line.slice(0, first));
    if (!Number.isInteger(id)) continue;
    const list = line.slice(first + 1, second);
    out.push({ hierarchyId: id, controllers: list === '' ? [] : list.split(','), path: line.slice(second + 1) });
  }
  return out;
}

/** Unescapes mountinfo's octal escapes (`\040` for a space). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The cgroup and cgroup2 mounts of /proc/<pid>/mountinfo. */
export function parseMountInfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const head = line.slice(0, sep).split(' ');
    const tail = line.slice(sep + 3).split(' ');
    const fsType = tail[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const root = head[3];
    const mountPoint = head[4];
    if (root === undefined || mountPoint === undefined) continue;
    const superOptions = (tail[2] ?? '').split(',');
    out.push({ fsType, root: unescapeMountField(root), mountPoint: unescapeMountField(mountPoint), controllers: fsType === 'cgroup' ? superOptions : [] });
  }
  return out;
}

export interface ControllerDirs {
  version: CgroupVersion;
  /** The process's cgroup directory first, then each ancestor up to the mount point. */
  dirs: string[];
}

function joinPath(a: string, b: string): string {
  if (b === '' || b === '/') return a;
  return `${a.replace(/\/+$/, '')}/${b.replace(/^\/+/, '')}`;
}

/** The directories whose limits apply to `path` in a hierarchy mounted at `mount`: leaf first. */
function dirsUnder(mount: CgroupMount, path: string): string[] {
  const root = mount.root === '/' ? '' : mount.root.replace(/\/+$/, '');
  // A path outside the mounted subtree (another cgroup namespace) is read at the mount point.
  let rel = root === '' ? path : path === root ? '' : path.startsWith(`${root}/`) ? path.slice(root.length) : '';
  rel = rel.replace(/\/+$/, '');
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) dirs.push(joinPath(mount.mountPoint, parts.slice(0, n).join('/')));
  return dirs;
}

/**
 * Where `controller`'s limits for this process are: its v1 hierarchy when one has the
 * controller, else the v2 hierarchy when it is mounted (hybrid systems mount an empty v2 too,
 * whose files are then simply absent). Undefined when neither is mounted.
 */
export function controllerDirs(controller: string, entries: readonly ProcCgroupEntry[], mounts: readonly CgroupMount[]): ControllerDirs | undefined {
  const v1 = entries.find((e) => e.controllers.includes(controller));
  if (v1 !== undefined) {
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.controllers.includes(controller));
    if (mount !== undefined) return { version: 'v1', dirs: dirsUnder(mount, v1.path) };
  }
  const v2 = entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0);
  const mount2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2 !== undefined && mount2 !== undefined) return { version: 'v2', dirs: dirsUnder(mount2, v2.path) };
  return undefined;
}

/** At or above this a v1 memory limit means "none" (PAGE_COUNTER_MAX pages, whatever the page size). */
const V1_UNLIMITED_FROM = 2 ** 62;

/** memory.limit_in_bytes (v1) → bytes, or undefined for none / unreadable. */
export function parseV1MemoryLimit(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= V1_UNLIMITED_FROM || n <= 0 ? undefined : n;
}

/** memory.stat's hierarchical_memory_limit (v1): the smallest limit on the way to the root. */
export function parseHierarchicalMemoryLimit(statText: string): number | undefined {
  const m = /^hierarchical_memory_limit\s+(\d+)\s*$/m.exec(statText);
  return m === null ? undefined : parseV1MemoryLimit(m[1] as string);
}

/** memory.max (v2) → bytes, or undefined for "max". */
export function parseV2MemoryMax(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n > 0 ? n : undefined;
}

/** cpu.cfs_quota_us and cpu.cfs_period_us (v1) → CPUs, or undefined for none (-1). */
export function parseV1CpuQuota(quotaText: string, periodText: string): number | undefined {
  const quota = Number(quotaText.trim());
  const period = Number(periodText.trim());
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return quota / period;
}

/** cpu.max (v2): "max 100000" → undefined, "20000 100000" → 0.2. */
export function parseV2CpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  return parseV1CpuQuota(quota, period ?? '100000');
}

export interface FoundLimit {
  value: number;
  /** The file it was read from. */
  source: string;
}

/** The smallest of the limits found (undefined when none was). */
export function tightest(found: ReadonlyArray<FoundLimit | undefined>): FoundLimit | undefined {
  let best: FoundLimit | undefined;
  for (const f of found) if (f !== undefined && (best === undefined || f.value < best.value)) best = f;
  return best;
}

/** What the cgroup allows this process, as found. Absent fields: no limit (or no cgroup). */
