// Reads the memory and CPU limits of the cgroup this process is in (v1 or v2), through
// /proc/self/cgroup and /proc/self/mountinfo. Every path is taken under `root` (default `/`), so
// tests build a fake /proc and /sys tree in a temp dir. A file that is absent means "no limit
// there"; one that cannot be read for another reason is noted in `problems`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  controllerDirs,
  parseHierarchicalMemoryLimit,
  parseMountInfo,
  parseProcCgroup,
  parseV1CpuQuota,
  parseV1MemoryLimit,
  parseV2CpuMax,
  parseV2MemoryMax,
  tightest,
  type CgroupLimits,
  type FoundLimit,
  type ProcCgroupEntry,
} from '../core/cgroup.js';
import { errorMessage } from '../errors.js';

export interface CgroupReadOptions {
  /** Where `/` is. @default '/' */
  root?: string;
  /** Whose cgroup. @default 'self' */
  pid?: number | 'self';
}

export async function readCgroupLimits(options: CgroupReadOptions = {}): Promise<CgroupLimits> {
  const root = options.root ?? '/';
  const pid = options.pid ?? 'self';
  const problems: string[] = [];
  const under = (p: string): string => path.join(root, p);
  const read = async (p: string): Promise<string | undefined> => {
    try {
      return await readFile(under(p), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') problems.push(`${p}: ${errorMessage(err)}`);
      return undefined;
    }
  };

  const cgroupText = await read(`/proc/${pid}/cgroup`);
  const mountText = await read(`/proc/${pid}/mountinfo`);
  const out: CgroupLimits = {};
  if (cgroupText === undefined || mountText === undefined) {
    if (problems.length > 0) out.problems = problems;
    return out;
  }
  const entries = parseProcCgroup(cgroupText);
  const mounts = parseMountInfo(mountText);

  const memory = controllerDirs('memory', entries, mounts);
  if (memory !== undefined) {
    out.version = memory.version;
    out.memoryCgroup = cgroupPathOf(entries, 'memory', memory.version);
    const found: Array<FoundLimit | undefined> = [];
    const file = memory.version === 'v1' ? 'memory.limit_in_bytes' : 'memory.max';
    const parse = memory.version === 'v1' ? parseV1MemoryLimit : parseV2MemoryMax;
    for (const dir of memory.dirs) {
      const text = await read(path.posix.join(dir, file));
      const value = text === undefined ? undefined : parse(text);
      if (value !== undefined) found.push({ value, source: path.posix.join(dir, file) });
    }
    if (memory.version === 'v1' && memory.dirs[0] !== undefined) {
      // Ancestors above a container's mount are not visible as directories; the kernel sums them up here.
      const stat = path.posix.join(memory.dirs[0], 'memory.stat');
      const text = await read(stat);
      const value = text === undefined ? undefined : parseHierarchicalMemoryLimit(text);
      if (value !== undefined) found.push({ value, source: `${stat} (hierarchical_memory_limit)` });
    }
    const best = tightest(found);
    if (best !== undefined) {
      out.memoryBytes = best.value;
      out.memorySource = best.source;
    }
  }

  const cpu = controllerDirs('cpu', entries, mounts);
  if (cpu !== undefined) {
    out.version ??= cpu.version;
    out.cpuCgroup = cgroupPathOf(entries, 'cpu', cpu.version);
    const found: Array<FoundLimit | undefined> = [];
    for (const dir of cpu.dirs) {
      if (cpu.version === 'v1') {
        const quota = await read(path.posix.join(dir, 'cpu.cfs_quota_us'));
        const period = await read(path.posix.join(dir, 'cpu.cfs_period_us'));
        const value = quota === undefined || period === undefined ? undefined : parseV1CpuQuota(quota, period);
        if (value !== undefined) found.push({ value, source: path.posix.join(dir, 'cpu.cfs_quota_us') });
      } else {
        const text = await read(path.posix.join(dir, 'cpu.max'));
        const value = text === undefined ? undefined : parseV2CpuMax(text);
        if (value !== undefined) found.push({ value, source: path.posix.join(dir, 'cpu.max') });
      }
    }
    const best = tightest(found);
    if (best !== undefined) {
      out.cpu = best.value;
      out.cpuSource = best.source;
    }
  }
  if (problems.length > 0) out.problems = problems;
  return out;
}

function cgroupPathOf(entries: readonly ProcCgroupEntry[], controller: string, version: 'v1' | 'v2'): string | undefined {
  const e = version === 'v1' ? entries.find((x) => x.controllers.includes(controller)) : entries.find((x) => x.hierarchyId === 0);
  return e?.path;
}
