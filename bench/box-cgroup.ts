// Cgroup v1 plumbing for the box benches and tests: a memory + cpu + cpuacct cgroup with Aurora's
// GC executor limits, the figures it keeps (usage, OOM kills, throttling), and its removal.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

function cgroupDir(controller: string, name: string): string {
  return path.join(CGROUP_ROOT, controller, name);
}

export function readNumber(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export function readKeyed(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k !== undefined && v !== undefined) out[k] = Number(v);
    }
  } catch {
    // absent: no figures
  }
  return out;
}

export interface Cgroups {
  names: Record<'memory' | 'cpu' | 'cpuacct', string>;
  remove(): void;
}

export function createCgroups(name: string, memoryBytes: number | undefined, cpu: number | undefined): Cgroups {
  const names = { memory: cgroupDir('memory', name), cpu: cgroupDir('cpu', name), cpuacct: cgroupDir('cpuacct', name) };
  for (const dir of Object.values(names)) mkdirSync(dir, { recursive: true });
  if (memoryBytes !== undefined) {
    writeFileSync(path.join(names.memory, 'memory.limit_in_bytes'), String(memoryBytes));
    // Without swap here; where memsw exists, bound it too so the limit is the limit.
    const memsw = path.join(names.memory, 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) {
      try {
        writeFileSync(memsw, String(memoryBytes));
      } catch {
        // swap accounting off: nothing to bound
      }
    }
  }
  if (cpu !== undefined) {
    writeFileSync(path.join(names.cpu, 'cpu.cfs_period_us'), '100000');
    writeFileSync(path.join(names.cpu, 'cpu.cfs_quota_us'), String(Math.round(cpu * 100_000)));
  }
  return {
    names,
    remove(): void {
      for (const dir of Object.values(names)) {
        for (let i = 0; i < 50; i++) {
          try {
            rmdirSync(dir);
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
            // EBUSY while the last task leaves: retry briefly
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
          }
        }
      }
    },
  };
}

/** Why real cgroups cannot be used here, or undefined when they can. */
export function cgroupsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  const probe = `tgc-probe-${process.pid}`;
  for (const controller of ['memory', 'cpu', 'cpuacct']) {
    const dir = path.join('/sys/fs/cgroup', controller, probe);
    try {
      mkdirSync(dir);
      rmdirSync(dir);
    } catch (err) {
      return `cannot create a cgroup v1 ${controller} group (${(err as Error).message})`;
    }
  }
  return undefined;
}
