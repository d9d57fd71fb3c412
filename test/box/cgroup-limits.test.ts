// The cgroup reader over fake /proc and /sys trees (v1 with ancestors and a container mount, v2,
// hybrid, nothing), and once over a real v1 cgroup with Aurora's limits where this machine has one.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { controllerDirs, parseMountInfo, parseProcCgroup, parseV1CpuQuota, parseV1MemoryLimit, parseV2CpuMax } from '../../src/core/cgroup.js';
import { readCgroupLimits } from '../../src/io/cgroup-limits.js';
import { REPO, ensureBuilt } from '../e2e/harness.js';

const UNLIMITED_V1 = '9223372036854771712';

const V1_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cgroup-fake-'));
  dirs.push(root);
  for (const [p, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, p)), { recursive: true });
    await writeFile(path.join(root, p), text);
  }
  return root;
}

describe('cgroup file parsing', () => {
  it('reads /proc/self/cgroup lines, v1 and v2', () => {
    expect(parseProcCgroup('4:memory:/mesos/abc\n2:cpu,cpuacct:/mesos/abc\n0::/user.slice\n')).toEqual([
      { hierarchyId: 4, controllers: ['memory'], path: '/mesos/abc' },
      { hierarchyId: 2, controllers: ['cpu', 'cpuacct'], path: '/mesos/abc' },
      { hierarchyId: 0, controllers: [], path: '/user.slice' },
    ]);
  });

  it('reads cgroup mounts from mountinfo, with their roots and controllers', () => {
    const mounts = parseMountInfo(`${V1_MOUNTINFO}50 31 0:40 /mesos/xyz /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n`);
    expect(mounts.map((m) => [m.fsType, m.mountPoint, m.root])).toEqual([
      ['cgroup', '/sys/fs/cgroup/cpu', '/'],
      ['cgroup', '/sys/fs/cgroup/cpuacct', '/'],
      ['cgroup', '/sys/fs/cgroup/memory', '/'],
      ['cgroup2', '/sys/fs/cgroup/unified', '/'],
      ['cgroup', '/sys/fs/cgroup/pids', '/mesos/xyz'],
    ]);
    expect(mounts[0]?.controllers).toContain('cpu');
  });

  it('knows "no limit" in each form', () => {
    expect(parseV1MemoryLimit(`${UNLIMITED_V1}\n`)).toBeUndefined();
    expect(parseV1MemoryLimit('134217728\n')).toBe(134_217_728);
    expect(parseV1CpuQuota('-1\n', '100000\n')).toBeUndefined();
    expect(parseV1CpuQuota('20000\n', '100000\n')).toBeCloseTo(0.2);
    expect(parseV2CpuMax('max 100000\n')).toBeUndefined();
    expect(parseV2CpuMax('150000 100000\n')).toBeCloseTo(1.5);
  });

  it('maps a container whose mount root is its own cgroup to the mount point', () => {
    const entries = parseProcCgroup('4:memory:/mesos/abc/sub\n');
    const mounts = parseMountInfo('35 31 0:32 /mesos/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n');
    expect(controllerDirs('memory', entries, mounts)).toEqual({ version: 'v1', dirs: ['/sys/fs/cgroup/memory/sub', '/sys/fs/cgroup/memory'] });
  });
});

describe('readCgroupLimits over fake trees', () => {
  it('v1: the smallest limit on the way up applies (an ancestor\'s limit and quota)', async () => {
    const root = await fakeRoot({
      '/proc/self/cgroup': '4:memory:/mesos/exec\n1:cpu:/mesos/exec\n2:cpuacct:/mesos/exec\n0::/\n',
      '/proc/self/mountinfo': V1_MOUNTINFO,
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': UNLIMITED_V1,
      '/sys/fs/cgroup/memory/mesos/memory.limit_in_bytes': '134217728\n',
      '/sys/fs/cgroup/memory/mesos/exec/memory.limit_in_bytes': `${UNLIMITED_V1}\n`,
      '/sys/fs/cgroup/memory/mesos/exec/memory.stat': `cache 0\nhierarchical_memory_limit 134217728\n`,
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
      '/sys/fs/cgroup/cpu/mesos/cpu.cfs_quota_us': '50000\n',
      '/sys/fs/cgroup/cpu/mesos/cpu.cfs_period_us': '100000\n',
      '/sys/fs/cgroup/cpu/mesos/exec/cpu.cfs_quota_us': '20000\n',
      '/sys/fs/cgroup/cpu/mesos/exec/cpu.cfs_period_us': '100000\n',
    });
    const limits = await readCgroupLimits({ root });
    expect(limits).toMatchObject({ version: 'v1', memoryBytes: 134_217_728, cpuCgroup: '/mesos/exec', memoryCgroup: '/mesos/exec' });
    expect(limits.memorySource).toBe('/sys/fs/cgroup/memory/mesos/memory.limit_in_bytes');
    expect(limits.cpu).toBeCloseTo(0.2);
    expect(limits.cpuSource).toBe('/sys/fs/cgroup/cpu/mesos/exec/cpu.cfs_quota_us');
  });

  it('v1: a limit above a container\'s mount is found through hierarchical_memory_limit', async () => {
    const root = await fakeRoot({
      '/proc/self/cgroup': '4:memory:/mesos/exec\n',
      '/proc/self/mountinfo': '35 31 0:32 /mesos/exec /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': UNLIMITED_V1,
      '/sys/fs/cgroup/memory/memory.stat': 'hierarchical_memory_limit 268435456\n',
    });
    expect(await readCgroupLimits({ root })).toMatchObject({ memoryBytes: 268_435_456, memorySource: '/sys/fs/cgroup/memory/memory.stat (hierarchical_memory_limit)' });
  });

  it('v1 unlimited everywhere: no limits', async () => {
    const root = await fakeRoot({
      '/proc/self/cgroup': '4:memory:/process_api/x\n1:cpu:/\n',
      '/proc/self/mountinfo': V1_MOUNTINFO,
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': UNLIMITED_V1,
      '/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes': UNLIMITED_V1,
      '/sys/fs/cgroup/memory/process_api/x/memory.stat': `hierarchical_memory_limit ${UNLIMITED_V1}\n`,
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    });
    const limits = await readCgroupLimits({ root });
    expect(limits.memoryBytes).toBeUndefined();
    expect(limits.cpu).toBeUndefined();
    expect(limits.version).toBe('v1');
  });

  it('v2: memory.max and cpu.max, ancestors included', async () => {
    const root = await fakeRoot({
      '/proc/self/cgroup': '0::/mesos/exec\n',
      '/proc/self/mountinfo': '30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n',
      '/sys/fs/cgroup/mesos/memory.max': '268435456\n',
      '/sys/fs/cgroup/mesos/exec/memory.max': '134217728\n',
      '/sys/fs/cgroup/mesos/cpu.max': '20000 100000\n',
      '/sys/fs/cgroup/mesos/exec/cpu.max': 'max 100000\n',
    });
    const limits = await readCgroupLimits({ root });
    expect(limits).toMatchObject({ version: 'v2', memoryBytes: 134_217_728, memorySource: '/sys/fs/cgroup/mesos/exec/memory.max' });
    expect(limits.cpu).toBeCloseTo(0.2);
  });

  it('hybrid with an empty v2 and no v1 memory controller: nothing found; no cgroup files at all: nothing', async () => {
    const hybrid = await fakeRoot({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V1_MOUNTINFO });
    expect(await readCgroupLimits({ root: hybrid })).toEqual({ version: 'v2', memoryCgroup: '/', cpuCgroup: '/' });
    expect(await readCgroupLimits({ root: await fakeRoot({}) })).toEqual({});
  });
});

const MEMORY = '/sys/fs/cgroup/memory';
const CPU = '/sys/fs/cgroup/cpu';
const canUseCgroups = process.getuid?.() === 0 && existsSync(path.join(MEMORY, 'memory.limit_in_bytes')) && existsSync(path.join(CPU, 'cpu.cfs_quota_us'));

describe.skipIf(!canUseCgroups)('readCgroupLimits on a real v1 cgroup (root)', () => {
  it('finds 128 MiB and 0.2 CPU from inside a process placed in the cgroup', { timeout: 120_000 }, async () => {
    const name = `${process.env.THERMOS_GC_TEST_CGROUP_PREFIX ?? 'thermos-gc-test-'}limits-${process.pid}-${Date.now()}`;
    const mem = path.join(MEMORY, name);
    const cpu = path.join(CPU, name);
    mkdirSync(mem);
    mkdirSync(cpu);
    try {
      writeFileSync(path.join(mem, 'memory.limit_in_bytes'), String(128 * 2 ** 20));
      writeFileSync(path.join(cpu, 'cpu.cfs_period_us'), '100000');
      writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), '20000');
      await ensureBuilt();
      const reader = path.join(REPO, 'dist', 'src', 'io', 'cgroup-limits.js');
      // A child moves itself into the cgroup, then reads its own limits through /proc/self.
      const script = `echo $$ > ${mem}/cgroup.procs && echo $$ > ${cpu}/cgroup.procs && exec "$0" --input-type=module -e "import(process.argv[1]).then(async (m) => console.log(JSON.stringify(await m.readCgroupLimits())))" "$1"`;
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', script, process.execPath, reader], { stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (text += c));
        child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited ${code}`))));
      });
      const limits = JSON.parse(out) as { memoryBytes?: number; cpu?: number; memoryCgroup?: string };
      expect(limits.memoryBytes).toBe(128 * 2 ** 20);
      expect(limits.cpu).toBeCloseTo(0.2);
      expect(limits.memoryCgroup).toBe(`/${name}`);
    } finally {
      rmdirSync(mem);
      rmdirSync(cpu);
    }
  });
});
