// `thermos-gc demo`: the README's first command. Builds a synthetic dense agent in a temporary
// directory, starts the agent simulator, launches the REAL executor process against it over
// loopback HTTP, sends one GC task with a realistic scheduler view, and prints what happened next
// to what `plan` predicted. No Mesos installation is needed; everything is removed afterwards.
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compileConfig } from '../config.js';
import { decodeSchedulerMessageDeletedTasks, encodeAdjustRetainedTasks } from '../core/aurora-messages.js';
import { UsageError, errorMessage } from '../errors.js';
import { EXECUTOR_VARS_FILE, type MetricsSnapshot } from '../executor/metrics.js';
import { readLastRunReport } from '../executor/run-report-file.js';
import type { GcRunReport } from '../executor/gc-run.js';
import { formatBytes, formatDuration, formatRunReport, reportCount } from '../report/run-report.js';
import { AgentSimulator } from '../sim/agent-simulator.js';
import { generateAgent, type DenseAgent } from '../sim/dense-agent.js';
import type { CliIo } from './io.js';
import { planOutput, scanForPlan, type PlanOutput } from './plan.js';

const HELP = `usage: thermos-gc demo [--tasks N] [--workers N] [--keep]

Runs the real executor against a simulated dense agent (default 3000 tasks) in a temporary
directory and prints what one GC task did, next to what 'thermos-gc plan' predicted.
--keep leaves the temporary directory in place.
`;

// The executor as Aurora starts it (-gc_executor_path): the launcher, which runs `node` from PATH.
const LAUNCHER = fileURLToPath(new URL('../../../bin/thermos-gc-executor', import.meta.url));
const GC_TASK_ID = 'system-gc-demo-0001';

interface DemoArgs {
  tasks: number;
  workers: string | undefined;
  keep: boolean;
}

function parseDemoArgs(argv: string[]): DemoArgs | 'help' {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { tasks: { type: 'string' }, workers: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (values.help === true) return 'help';
  const text = typeof values.tasks === 'string' ? values.tasks : '3000';
  const tasks = Number(text);
  if (!/^\d+$/.test(text) || tasks < 10 || tasks > 200_000) throw new UsageError(`--tasks: '${text}' must be a whole number from 10 to 200000`);
  return { tasks, workers: typeof values.workers === 'string' ? values.workers : undefined, keep: values.keep === true };
}

/** Progress on stderr: a spinner with elapsed time on a terminal, one line per step otherwise. */
class Status {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private readonly tty: boolean;

  constructor(private readonly out: CliIo['stderr']) {
    this.tty = out.isTTY === true;
  }

  step(label: string, detail: () => string = () => ''): void {
    this.stop();
    const started = Date.now();
    if (!this.tty) {
      this.out.write(`${label}...\n`);
      return;
    }
    const frames = '|/-\\';
    const draw = (): void => {
      const d = detail();
      this.out.write(`\r${frames[this.frame++ % frames.length]} ${label} ${formatDuration(Date.now() - started)}${d === '' ? '' : ` (${d})`}\x1b[K`);
    };
    draw();
    this.timer = setInterval(draw, 100);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.out.write('\r\x1b[K');
  }
}

/** Live tasks write their checkpoints: fresh mtimes keep the startup orphan pass off them. */
async function freshenActiveRunners(agent: DenseAgent): Promise<void> {
  const now = new Date();
  const active = new Set(agent.taskIds.active);
  await Promise.all(agent.runnerCheckpoints.filter((p) => active.has(path.basename(path.dirname(p)))).map((p) => utimes(p, now, now)));
}

function count<T>(items: Iterable<T>, key: (t: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of items) out.set(key(i), (out.get(key(i)) ?? 0) + 1);
  return out;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** A list of last_gc_run.json against plan's: the same, or (bounded on a large agent) as many, its first ones among plan's. */
function sameListed(report: GcRunReport, list: 'killed' | 'deleted', planned: readonly string[]): boolean {
  if (report.truncated?.[list] === undefined) return sameList(report[list], planned);
  const want = new Set(planned);
  return reportCount(report, list) === planned.length && report[list].every((id) => want.has(id));
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseDemoArgs(argv);
  if (args === 'help') {
    io.stdout.write(HELP);
    return 0;
  }
  const out = (line = ''): void => void io.stdout.write(`${line}\n`);
  const status = new Status(io.stderr);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'thermos-gc-demo-'));
  let sim: AgentSimulator | undefined;
  let child: ChildProcess | undefined;
  let childErr = '';

  const teardown = async (): Promise<void> => {
    status.stop();
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sim?.stop();
    if (!args.keep) await rm(tmp, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    void teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    status.step(`generating a dense agent of ${args.tasks} tasks in ${tmp}`);
    const agent = await generateAgent(path.join(tmp, 'agent'), { tasks: args.tasks });
    await freshenActiveRunners(agent);
    const config = compileConfig({ checkpointRoots: [agent.checkpointRoot], mesosRoot: agent.mesosRoot, sandboxRoots: [agent.sandboxRoot] });
    const flags = ['--checkpoint-root', agent.checkpointRoot, '--mesos-root', agent.mesosRoot, '--sandbox-root', agent.sandboxRoot];

    status.step('starting the agent simulator and the executor');
    sim = await AgentSimulator.start();
    const sandbox = path.join(tmp, 'executor-sandbox');
    await mkdir(sandbox);
    const workers = args.workers === undefined ? [] : ['--workers', args.workers];
    const proc = sim.spawnExecutor(
      [LAUNCHER, ...flags, '--poll-wait', '1h', '--persistence-wait', '200ms', ...workers],
      {
        sandbox,
        recoveryTimeout: '10secs',
        shutdownGracePeriod: '10secs',
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` },
      },
    );
    child = proc;
    proc.stderr?.setEncoding('utf8').on('data', (c: string) => (childErr = (childErr + c).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const theSim = sim;
    const until = async (pred: () => boolean, what: string, timeoutMs = 600_000): Promise<void> => {
      const died = exited.then((code) => {
        throw new Error(`the executor exited (code ${code}) while waiting for ${what}:\n${childErr}`);
      });
      await Promise.race([theSim.waitFor(pred, timeoutMs, what), died]);
    };
    await until(() => theSim.subscribed, 'the executor to subscribe', 30_000);

    const sentAt = Date.now();
    const predicted: PlanOutput = planOutput(await scanForPlan(config, agent.retained), agent.retained, sentAt, config).output;
    const isGc = (id: string): boolean => id === GC_TASK_ID;
    status.step('running the GC task', () => `${theSim.updates.filter((u) => !isGc(u.status.task_id.value)).length} updates`);
    const t0 = Date.now();
    theSim.launch(GC_TASK_ID, encodeAdjustRetainedTasks(agent.retained));
    await until(() => theSim.updates.some((u) => isGc(u.status.task_id.value) && u.status.state === 'TASK_FINISHED'), `TASK_FINISHED for ${GC_TASK_ID}`);
    const tookMs = Date.now() - t0;

    status.step('shutting the executor down');
    theSim.shutdown();
    const code = await exited;
    status.stop();

    const report = await readLastRunReport(sandbox);
    const vars = JSON.parse(await readFile(path.join(sandbox, EXECUTOR_VARS_FILE), 'utf8')) as MetricsSnapshot;
    const updates = theSim.updates.filter((u) => !isGc(u.status.task_id.value));
    const deleted = theSim.messages.flatMap((m) => decodeSchedulerMessageDeletedTasks(m));
    const sentUpdates = Object.fromEntries(updates.map((u) => [u.status.task_id.value, u.status.state]));
    const expectedUpdates = Object.fromEntries(Object.entries(predicted.updates).map(([id, s]) => [id, `TASK_${s}`]));
    const matches =
      report !== undefined &&
      JSON.stringify(Object.entries(sentUpdates).sort()) === JSON.stringify(Object.entries(expectedUpdates).sort()) &&
      sameList(deleted, predicted.deleted_tasks) &&
      sameListed(report, 'killed', predicted.terminate) &&
      sameListed(report, 'deleted', predicted.garbage_collect);

    out(`agent: ${args.tasks} tasks (${agent.taskIds.active.length} active, ${agent.taskIds.finished.length} finished), ${agent.linked.size} executors still linked, ${agent.files} files, ${formatBytes(agent.bytes)}`);
    out(`scheduler view: ${agent.retained.size} tasks (${agent.schedulerOnly.length} known only to the scheduler)`);
    out();
    if (report !== undefined) out(formatRunReport(report).trimEnd());
    out();
    out(`kills:                  ${report?.killed.length ?? 0}`);
    const byState = [...count(updates, (u) => u.status.state)].sort().map(([s, n]) => `${s} ${n}`).join(', ');
    out(`status updates:         ${updates.length}${byState === '' ? '' : ` (${byState})`}`);
    out(`deleted-tasks message:  ${deleted.length} task ids in ${theSim.messages.length} message(s)`);
    out(`bytes reclaimed:        ${formatBytes(vars.bytes_reclaimed)} (${vars.inodes_reclaimed} inodes)`);
    out(`time taken:             ${formatDuration(tookMs)} from LAUNCH to TASK_FINISHED`);
    // What a real agent would have refused (503 while recovering is only "not now").
    const refused = theSim.calls.filter((c) => c.status >= 400 && c.status !== 503).length;
    const agentOk = refused === 0 && theSim.crashed === undefined && theSim.executorKills.length === 0;
    out(`agent took every call:  ${agentOk ? 'yes' : `no (${refused} refused${theSim.crashed === undefined ? '' : `, agent aborted: ${theSim.crashed}`})`}`);
    out(`matches plan:           ${matches ? 'yes' : 'no'}`);
    out(`executor exit code:     ${code}`);
    return matches && agentOk && code === 0 ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await teardown();
  }
}
