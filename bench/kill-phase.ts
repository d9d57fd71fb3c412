// The kill phase of a GC run on its own: N active tasks of a generated agent killed through the
// services (`killTasks`, one batch; or one `killTask` per task where the build has no batch),
// optionally with P extra processes on the node so each process snapshot costs what it does on
// a dense agent. Prints the wall time and the CPU seconds (process + ps children).
//
//   node dist/bench/kill-phase.js [--tasks 400] [--processes 0] [--workers 0]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { TaskRef } from '../src/core/facts.js';
import type { GcServices, KillOutcome } from '../src/services/services.js';
import { silentLogger } from '../src/log.js';
import { createServices } from '../src/pool/pool-services.js';
import { generateAgent } from '../src/sim/dense-agent.js';
import { configForAgent } from './scan.js';
import { benchDir, removeTree } from './table.js';

function cpuUs(): { self: number; children: number } {
  const u = process.resourceUsage();
  const self = u.userCPUTime + u.systemCPUTime;
  let children = 0;
  try {
    // cutime + cstime: fields 16, 17 of /proc/self/stat, in clock ticks (100 Hz).
    const text = readFileSync('/proc/self/stat', 'latin1');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    children = (Number(rest[13]) + Number(rest[14])) * 10_000;
  } catch {
    children = 0;
  }
  return { self, children };
}

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '400' }, processes: { type: 'string', default: '0' }, workers: { type: 'string', default: '0' }, dir: { type: 'string' } } });
const tasks = Number(values.tasks);
const extra = Number(values.processes);
const dir = await benchDir(values.dir ?? os.tmpdir(), `kill${tasks}`);
const sleepers: ChildProcess[] = [];
try {
  const agent = await generateAgent(dir, { tasks, activeShare: 1, filesPerSandbox: 0, seed: 3 });
  for (let i = 0; i < extra; i++) sleepers.push(spawn('sleep', ['600'], { stdio: 'ignore' }));
  const services = createServices(configForAgent(agent, Number(values.workers)), silentLogger());
  const refs: TaskRef[] = (await services.listTasks([agent.checkpointRoot])).refs.filter((r) => r.state === 'active');
  const batch = (services as Partial<GcServices>).killTasks;
  const c0 = cpuUs();
  const t0 = performance.now();
  let outcomes: KillOutcome[];
  if (batch !== undefined) outcomes = await batch(refs, 'kill');
  else {
    outcomes = [];
    for (const r of refs) outcomes.push(await services.killTask(r, 'kill'));
  }
  const ms = performance.now() - t0;
  const c1 = cpuUs();
  await services.close();
  const ok = outcomes.filter((o) => o.ok).length;
  console.log(
    JSON.stringify({
      mode: batch === undefined ? 'per-task' : 'batch',
      tasks: refs.length,
      ok,
      extraProcesses: extra,
      ms: Math.round(ms),
      msPerTask: Math.round((ms / refs.length) * 100) / 100,
      cpuSelfS: (c1.self - c0.self) / 1e6,
      cpuChildrenS: (c1.children - c0.children) / 1e6,
    }),
  );
} finally {
  for (const s of sleepers) s.kill('SIGKILL');
  await removeTree(dir);
}
