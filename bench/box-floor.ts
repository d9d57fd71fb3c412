// The floor of a GC run's work, measured in the box: on an identical copy of the agent (same
// seed, so the same task ids and trees), every runner checkpoint read with `cat` and the trees
// the run deletes (sandbox, log dir, checkpoint dir, task files of every task `plan` says to
// collect) removed with `rm -rf`, inside a cgroup with the same limits. Its CPU seconds (cpuacct)
// are what no implementation of the same job can go below; the GC run's are compared to it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scheduleStatusName } from '../src/core/states.js';
import type { AgentPresetName } from '../src/sim/agent-presets.js';
import { boxAgent, checkpointRootArgs } from './aurora-box.js';
import { createCgroups, readNumber } from './box-cgroup.js';

const REPO_BIN = fileURLToPath(new URL('../../bin/thermos-gc.js', import.meta.url));

export interface FloorOptions {
  tasks: number;
  seed: number;
  /** @default 'dense' */
  preset?: AgentPresetName;
  memoryBytes?: number;
  cpu?: number;
  cgroupPrefix: string;
  baseDir?: string;
}

export interface FloorResult {
  /** cpuacct of `cat` of every checkpoint plus `rm -rf` of every collected tree. */
  cpuSeconds: number;
  wallMs: number;
  checkpoints: number;
  collectedTasks: number;
}

let floorCount = 0;

export async function measureFloor(o: FloorOptions): Promise<FloorResult> {
  const dir = await mkdtemp(path.join(o.baseDir ?? os.tmpdir(), 'thermos-gc-floor-'));
  try {
    // As runInBox generates it.
    const agent = await boxAgent(path.join(dir, 'agent'), o.preset ?? 'dense', o.tasks, o.seed);
    // Each task's checkpoint root: the one holding its runner checkpoint.
    const rootOf = new Map(agent.runnerCheckpoints.map((p) => [path.basename(path.dirname(p)), path.dirname(path.dirname(path.dirname(p)))]));
    const retained = path.join(dir, 'retained.json');
    await writeFile(retained, JSON.stringify(Object.fromEntries([...agent.retained].map(([id, s]) => [id, scheduleStatusName(s)]))));
    const plan = spawnSync(process.execPath, [
      REPO_BIN, 'plan', '--json', '--retained', retained,
      ...checkpointRootArgs(agent), '--mesos-root', agent.mesosRoot, '--sandbox-root', agent.sandboxRoot,
    ], { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (plan.status !== 0) throw new Error(`floor: plan failed (${plan.status}): ${plan.stderr}`);
    const collected = (JSON.parse(plan.stdout) as { garbage_collect: string[] }).garbage_collect;
    const trees: string[] = [];
    for (const id of collected) {
      const sandbox = agent.sandboxes.get(id);
      if (sandbox !== undefined) trees.push(sandbox);
      trees.push(
        path.join(agent.logRoot, id),
        path.join(rootOf.get(id) ?? agent.checkpointRoot, 'checkpoints', id),
        path.join(rootOf.get(id) ?? agent.checkpointRoot, 'tasks', 'active', id),
        path.join(rootOf.get(id) ?? agent.checkpointRoot, 'tasks', 'finished', id),
      );
    }
    const ckptList = path.join(dir, 'checkpoints.list');
    const treeList = path.join(dir, 'trees.list');
    await writeFile(ckptList, `${agent.runnerCheckpoints.join('\0')}\0`);
    await writeFile(treeList, `${trees.join('\0')}\0`);
    spawnSync('sync');
    const cg = createCgroups(`${o.cgroupPrefix}floor-${process.pid}-${floorCount++}`, o.memoryBytes, o.cpu);
    try {
      const join = Object.values(cg.names).map((d) => `echo $$ > ${path.join(d, 'cgroup.procs')}`).join(' && ');
      const script = `${join} && xargs -0 cat < "$1" > /dev/null && xargs -0 rm -rf < "$2"`;
      const t0 = performance.now();
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', script, 'floor', ckptList, treeList], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.once('error', reject);
        child.once('exit', (c) => resolve(c));
      });
      const wallMs = performance.now() - t0;
      if (code !== 0) throw new Error(`floor: cat/rm exited ${code}`);
      const usage = readNumber(path.join(cg.names.cpuacct, 'cpuacct.usage'));
      if (usage === undefined) throw new Error('floor: no cpuacct.usage');
      return { cpuSeconds: usage / 1e9, wallMs, checkpoints: agent.runnerCheckpoints.length, collectedTasks: collected.length };
    } finally {
      cg.remove();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
