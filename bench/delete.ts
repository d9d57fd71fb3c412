// Deletion of N sandboxes (with their logs and metadata) through the project's deleter, against
// `rm -rf` of an identical tree generated in the same run.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DeletionTarget } from '../src/core/facts.js';
import { silentLogger } from '../src/log.js';
import { createServices } from '../src/pool/pool-services.js';
import { generateAgent, type DenseAgent } from '../src/sim/dense-agent.js';
import { configForAgent } from './scan.js';
import { benchDir, printTable, removeTree, timeOnce, type BenchContext } from './table.js';

const run = promisify(execFile);

export interface DeleteResult {
  sandboxes: number;
  files: number;
  method: string;
  ms: number;
  /** ms / rm -rf ms. */
  ratioToRm: number;
}

function generate(dir: string, n: number): Promise<DenseAgent> {
  // Every task finished and unlinked: everything is garbage.
  return generateAgent(dir, { tasks: n, activeShare: 0, linkedShare: 0, filesPerSandbox: 8, fileBytes: 1024, processesPerTask: 1, runsPerProcess: 1, seed: 7 });
}

/** The same trees the deleter removes: sandboxes, log dirs, checkpoints and task files. */
function garbageTrees(agent: DenseAgent): string[] {
  return [agent.sandboxRoot, agent.logRoot, path.join(agent.checkpointRoot, 'checkpoints'), path.join(agent.checkpointRoot, 'tasks')];
}

async function deleteWithServices(agent: DenseAgent, workers: number): Promise<number> {
  const services = createServices(configForAgent(agent, workers), silentLogger());
  try {
    const { refs } = await services.listTasks([agent.checkpointRoot]);
    const facts = await services.readFacts(refs);
    const targets: DeletionTarget[] = facts.map((f) => {
      const t: DeletionTarget = { taskId: f.taskId, reason: 'bench', logPaths: services.logPaths(f), metadataPaths: services.metadataPaths(f) };
      if (f.sandbox !== undefined) t.sandbox = f.sandbox;
      return t;
    });
    let failed = 0;
    const ms = await timeOnce(async () => {
      const results = await services.deleteTargets(targets);
      failed = results.filter((r) => r.errors.length > 0 || r.refused.length > 0).length;
    });
    if (failed > 0) throw new Error(`deleter failed or refused on ${failed} tasks`);
    return ms;
  } finally {
    await services.close();
  }
}

export async function deleteBench(ctx: BenchContext): Promise<DeleteResult[]> {
  const n = ctx.quick ? 200 : 10_000;
  const methods: Array<{ method: string; remove: (a: DenseAgent) => Promise<number> }> = [
    { method: 'rm -rf', remove: (a) => timeOnce(() => run('rm', ['-rf', ...garbageTrees(a)])) },
    ...[...new Set([0, Math.max(...ctx.workerCounts)])].map((w) => ({ method: `deleter workers=${w}`, remove: (a: DenseAgent) => deleteWithServices(a, w) })),
  ];
  // Rounds in alternating order; each method's figure is its median. A round is one tree per
  // method, generated, flushed (sync) and removed in turn. The quick run takes three rounds of a
  // small tree: on this noisy disk a single one swings by 2x.
  const rounds = ctx.quick ? 3 : 1;
  const samples = new Map<string, number[]>(methods.map((m) => [m.method, []]));
  let files = 0;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? methods : [...methods].reverse();
    for (const m of order) {
      const dir = await benchDir(ctx.baseDir, `delete-${m.method.replace(/\W+/g, '')}`);
      try {
        const agent = await generate(dir, n);
        files = agent.files;
        // Flush the generator's writes first: otherwise whichever method runs first also pays for
        // the writeback of the tree it is deleting.
        await run('sync');
        samples.get(m.method)?.push(await m.remove(agent));
      } finally {
        await removeTree(dir);
      }
    }
  }
  const median = (xs: readonly number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const rm = median(samples.get('rm -rf') ?? []);
  const out = methods.map((m) => {
    const ms = median(samples.get(m.method) ?? []);
    return { sandboxes: n, files, method: m.method, ms, ratioToRm: ms / rm };
  });
  printTable(
    `Deletion of ${n} sandboxes × 8 files (+ logs, checkpoints, task files) vs rm -rf of the same tree${rounds > 1 ? ` (median of ${rounds} alternating rounds)` : ''}`,
    out.map((r) => ({ method: r.method, sandboxes: r.sandboxes, files: r.files, ms: r.ms, 'x rm -rf': r.ratioToRm })),
  );
  return out;
}
