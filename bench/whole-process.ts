// Whole processes, side by side in one run, as an operator runs them:
// - `thermos-gc plan --json` at N tasks (every task retained as RUNNING) against two references
//   doing the same job in the same run: the way the original Python executor does it (glob, Apache
//   Thrift's Python library, stat, glob of the Mesos runs; bench/reference/plan_reference.py, run
//   when Debian's python3-thrift is there), and a careful first version in Node (plain fs and the
//   `thrift` package's TBinaryProtocol; bench/reference/plan-reference.ts). Runs alternate, the
//   median counts, and every output must be byte-identical to plan's (the same job, checked).
// - `thermos-gc collect` deleting every task of an agent against `rm -rf` of the same trees in an
//   identical copy (the same seed, generated alone just before its deletion): median of pairs run
//   in alternating order, each after a `sync` (this disk is noisy: one pair alone is not a
//   measurement).
// Peak RSS is the child's own maximum resident set (GNU time's %M when /usr/bin/time exists,
// else VmHWM sampled from /proc every 5 ms).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { scheduleStatusName } from '../src/core/states.js';
import { AGENT_PRESET_NAMES, generatePresetAgent, type AgentPresetName } from '../src/sim/agent-presets.js';
import { generateAgent, type DenseAgent } from '../src/sim/dense-agent.js';
import { benchDir, printTable, removeTree, type BenchContext } from './table.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(REPO, 'bin', 'thermos-gc.js');
const NODE_REFERENCE = fileURLToPath(new URL('./reference/plan-reference.js', import.meta.url));
const PYTHON_REFERENCE = path.join(REPO, 'bench', 'reference', 'plan_reference.py');
const SYSTEM_PYTHON = '/usr/bin/python3';
const GNU_TIME = '/usr/bin/time';

export interface ProcessSample {
  ms: number;
  peakRssMiB: number;
  stdout: string;
}

export interface PlanRow {
  /** The agent's shape (src/sim/agent-presets.ts). */
  preset: AgentPresetName;
  tasks: number;
  command: string;
  medianMs: number;
  minMs: number;
  peakRssMiB: number;
  /** Python reference median / this median (> 1: faster than the reference). */
  speedupVsPython?: number;
  speedupVsNodeThrift?: number;
  sameOutput: boolean;
}

export interface CollectPair {
  order: 'collect first' | 'rm first';
  collectMs: number;
  rmMs: number;
  ratio: number;
  collectPeakRssMiB: number;
}

export interface WholeProcessResult {
  /** Every preset's rows. */
  plan: PlanRow[];
  /** The plan row of the preset where `thermos-gc plan --json` did worst against Python (or, without Python, against the Node reference). */
  worstPlan: PlanRow | undefined;
  pythonReference: 'ran' | string;
  /** What NODE_EXTRA_CA_CERTS (removed from the commands' environment) costs a node start; absent when it was not set. */
  caBundleMsPerStart?: number;
  collect: { tasks: number; files: number; pairs: CollectPair[]; medianRatio: number; medianCollectMs: number; medianRmMs: number };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/**
 * The environment every measured command runs in: this one, less NODE_EXTRA_CA_CERTS. Node parses
 * that CA bundle at every start, before any of our code runs (~30-60 ms on these machines for
 * their 220 KB bundle); thermos-gc opens no TLS connection, the Python reference never reads the
 * variable, and a Mesos agent does not set it. The bench prints the cost when it removes it.
 */
const CHILD_ENV: NodeJS.ProcessEnv = (() => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
})();

/** What NODE_EXTRA_CA_CERTS costs a node start here (median of 5 `node -e 0` each way), or undefined when unset. */
async function caBundleCostMs(): Promise<number | undefined> {
  if (process.env.NODE_EXTRA_CA_CERTS === undefined) return undefined;
  const time = async (env: NodeJS.ProcessEnv): Promise<number> => {
    const t0 = performance.now();
    await run(process.execPath, ['-e', '0'], { env });
    return performance.now() - t0;
  };
  const withIt: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < 5; i++) {
    withIt.push(await time(process.env));
    without.push(await time(CHILD_ENV));
  }
  return median(withIt) - median(without);
}

/** Runs a command to completion; its wall time (spawn to exit) and its own peak RSS. */
async function measure(argv: readonly string[]): Promise<ProcessSample> {
  const timed = existsSync(GNU_TIME);
  const full = timed ? [GNU_TIME, '-f', '__PEAK_KB__ %M', ...argv] : [...argv];
  const t0 = performance.now();
  const child = spawn(full[0] as string, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: CHILD_ENV });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  let sampledKiB = 0;
  const poll = timed
    ? undefined
    : setInterval(() => {
        try {
          const m = /^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m !== null) sampledKiB = Math.max(sampledKiB, Number(m[1]));
        } catch {
          // exited between two samples
        }
      }, 5);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const ms = performance.now() - t0;
  if (poll !== undefined) clearInterval(poll);
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  const kib = timed ? Number(/__PEAK_KB__ (\d+)/.exec(stderr)?.[1] ?? NaN) : sampledKiB;
  return { ms, peakRssMiB: kib / 1024, stdout };
}

function pythonThriftMissing(): string | undefined {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found`;
  try {
    execFileSync(SYSTEM_PYTHON, ['-c', 'import thrift.protocol.TBinaryProtocol'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${SYSTEM_PYTHON} has no thrift module (apt-get install python3-thrift)`;
  }
}

async function planBench(ctx: BenchContext, tasks: number, preset: AgentPresetName): Promise<{ rows: PlanRow[]; python: string }> {
  const dir = await benchDir(ctx.baseDir, `plan${tasks}-${preset}`);
  try {
    const agent = await generatePresetAgent(dir, preset, { tasks, filesPerSandbox: 1, fileBytes: 64, seed: 23 });
    const retainedFile = path.join(dir, 'retained.json');
    const all = [...agent.taskIds.active, ...agent.taskIds.finished];
    await writeFile(retainedFile, JSON.stringify(Object.fromEntries(all.map((id) => [id, scheduleStatusName(2)]))));
    const now = String(agent.nowMs / 1000);
    const roots = [...agent.checkpointRoots.flatMap((r) => ['--checkpoint-root', r]), '--mesos-root', agent.mesosRoot];
    const refArgs = [...roots, '--retained', retainedFile, '--now', now];
    const commands: Array<{ name: string; argv: string[] }> = [
      { name: 'thermos-gc plan --json', argv: [process.execPath, BIN, 'plan', ...refArgs, '--json'] },
      { name: 'thermos-gc plan --json --workers 2', argv: [process.execPath, BIN, 'plan', ...refArgs, '--json', '--workers', '2'] },
      { name: 'reference: Node, fs + thrift TBinaryProtocol', argv: [process.execPath, NODE_REFERENCE, ...refArgs] },
    ];
    const missing = pythonThriftMissing();
    if (missing === undefined) commands.push({ name: 'reference: Python, glob + Apache Thrift (as the original)', argv: [SYSTEM_PYTHON, PYTHON_REFERENCE, ...refArgs] });
    else console.log(`\nPython/Thrift reference NOT RUN: ${missing}`);

    const rounds = ctx.quick ? 2 : 5;
    const samples = new Map<string, ProcessSample[]>(commands.map((c) => [c.name, []]));
    // One unmeasured pass warms the page cache for all of them.
    for (const c of commands) await measure(c.argv);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? commands : [...commands].reverse();
      for (const c of order) samples.get(c.name)?.push(await measure(c.argv));
    }
    const reference = samples.get('thermos-gc plan --json')?.[0]?.stdout ?? '';
    const med = (name: string): number => median((samples.get(name) ?? []).map((s) => s.ms));
    const py = commands.find((c) => c.name.startsWith('reference: Python'))?.name;
    const nodeRef = 'reference: Node, fs + thrift TBinaryProtocol';
    const rows: PlanRow[] = commands.map((c) => {
      const ss = samples.get(c.name) ?? [];
      const row: PlanRow = {
        preset,
        tasks,
        command: c.name,
        medianMs: med(c.name),
        minMs: Math.min(...ss.map((s) => s.ms)),
        peakRssMiB: Math.max(...ss.map((s) => s.peakRssMiB)),
        sameOutput: ss.every((s) => s.stdout === reference),
      };
      if (py !== undefined) row.speedupVsPython = med(py) / row.medianMs;
      row.speedupVsNodeThrift = med(nodeRef) / row.medianMs;
      return row;
    });
    for (const r of rows) if (!r.sameOutput) throw new Error(`${r.command} (${preset}): output differs from thermos-gc plan --json`);
    return { rows, python: missing ?? 'ran' };
  } finally {
    await removeTree(dir);
  }
}

/** The trees `collect` deletes when every task goes: sandboxes, logs, checkpoints, task files. */
function collectedTrees(agent: DenseAgent): string[] {
  return [agent.sandboxRoot, agent.logRoot, path.join(agent.checkpointRoot, 'checkpoints'), path.join(agent.checkpointRoot, 'tasks')];
}

async function collectBench(ctx: BenchContext, tasks: number): Promise<WholeProcessResult['collect']> {
  const pairs: CollectPair[] = [];
  let files = 0;
  // Five pairs: on this disk one pair can be 2× off either way (bench/README.md).
  const n = ctx.quick ? 1 : 5;
  // Every task finished: collect deletes them all (linked ones too, with --include-linked). Each
  // side's tree is generated on its own right before it is deleted (same seed: identical trees,
  // laid out alike). Generated together, the two trees share inode-table and bitmap blocks, and
  // whichever went first changed the disk work of the second.
  const gen = (dir: string): Promise<DenseAgent> =>
    generateAgent(dir, { tasks, activeShare: 0, filesPerSandbox: 8, fileBytes: 1024, processesPerTask: 1, runsPerProcess: 1, seed: 31 });
  const side = async (what: 'collect' | 'rm'): Promise<ProcessSample> => {
    const dir = await benchDir(ctx.baseDir, `${what}${tasks}`);
    try {
      const a = await gen(dir);
      files = a.files;
      const argv =
        what === 'rm'
          ? ['rm', '-rf', ...collectedTrees(a)]
          : [
              process.execPath, BIN, 'collect',
              '--checkpoint-root', a.checkpointRoot, '--mesos-root', a.mesosRoot, '--sandbox-root', a.sandboxRoot,
              '--max-age', '0s', '--include-linked', '--delete-logs', '--delete-metadata', '--yes', '--json',
            ];
      await run('sync');
      const sample = await measure(argv);
      if (what === 'collect') {
        const out = JSON.parse(sample.stdout) as { deleted: string[] };
        if (out.deleted.length !== tasks) throw new Error(`collect deleted ${out.deleted.length} of ${tasks} tasks`);
      }
      return sample;
    } finally {
      await removeTree(dir);
    }
  };
  for (let i = 0; i < n; i++) {
    const collectFirst = i % 2 === 0;
    const first = await side(collectFirst ? 'collect' : 'rm');
    const second = await side(collectFirst ? 'rm' : 'collect');
    const c = collectFirst ? first : second;
    const r = collectFirst ? second : first;
    pairs.push({ order: collectFirst ? 'collect first' : 'rm first', collectMs: c.ms, rmMs: r.ms, ratio: c.ms / r.ms, collectPeakRssMiB: c.peakRssMiB });
  }
  return {
    tasks,
    files,
    pairs,
    medianRatio: median(pairs.map((p) => p.ratio)),
    medianCollectMs: median(pairs.map((p) => p.collectMs)),
    medianRmMs: median(pairs.map((p) => p.rmMs)),
  };
}

export async function wholeProcessBench(ctx: BenchContext): Promise<WholeProcessResult> {
  const planTasks = ctx.quick ? 200 : 10_000;
  const collectTasks = ctx.quick ? 200 : 3_000;
  const rows: PlanRow[] = [];
  let python = 'ran';
  for (const preset of AGENT_PRESET_NAMES) {
    const one = await planBench(ctx, planTasks, preset);
    rows.push(...one.rows);
    python = one.python;
  }
  const ours = rows.filter((r) => r.command === 'thermos-gc plan --json');
  const against = (r: PlanRow): number => r.speedupVsPython ?? r.speedupVsNodeThrift ?? Number.NaN;
  const worstPlan = ours.reduce<PlanRow | undefined>((w, r) => (w === undefined || against(r) < against(w) ? r : w), undefined);
  printTable(
    `Whole process: plan --json at ${planTasks} tasks (every task retained) on each agent preset vs references doing the same job, same output (median of alternating runs); worst preset: ${worstPlan === undefined ? '-' : `${worstPlan.preset}, ${against(worstPlan).toFixed(2)}x`}`,
    rows.map((r) => ({
      preset: r.preset,
      command: r.command,
      'median ms': r.medianMs,
      'min ms': r.minMs,
      'peak RSS MiB': r.peakRssMiB,
      'x vs Python': r.speedupVsPython ?? '-',
      'x vs Node+thrift': r.speedupVsNodeThrift ?? '-',
    })),
  );
  const caCost = await caBundleCostMs();
  if (caCost !== undefined) {
    console.log(`\nNODE_EXTRA_CA_CERTS is set here: node parses that bundle at every start (+${caCost.toFixed(0)} ms measured); the commands above and below run without it.`);
  }
  const collect = await collectBench(ctx, collectTasks);
  printTable(
    `Whole process: collect deleting all ${collectTasks} tasks (${collect.files} files) vs rm -rf of the same trees, pairs after sync, alternating order, each tree generated alone just before (median ratio ${collect.medianRatio.toFixed(2)}; medians ${collect.medianCollectMs.toFixed(0)} vs ${collect.medianRmMs.toFixed(0)} ms)`,
    collect.pairs.map((p) => ({ order: p.order, 'collect ms': p.collectMs, 'rm -rf ms': p.rmMs, 'x rm -rf': p.ratio, 'collect peak RSS MiB': p.collectPeakRssMiB })),
  );
  const out: WholeProcessResult = { plan: rows, worstPlan, pythonReference: python, collect };
  if (caCost !== undefined) out.caBundleMsPerStart = caCost;
  return out;
}
