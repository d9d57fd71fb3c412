// `thermos-gc executor`: the Mesos GC executor process. Reads the MESOS_* environment the agent
// sets, subscribes over the v1 executor HTTP API, and runs the GC loop until SHUTDOWN (exit 0,
// within the agent's shutdown grace period) or until the driver gives up (exit 1).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { compileConfig, configParseArgsOptions, rawConfigFromParsed, type GcConfig } from '../config.js';
import { readCgroupLimits } from '../io/cgroup-limits.js';
import { UsageError, errorMessage } from '../errors.js';
import { GcExecutor } from '../executor/gc-executor.js';
import { GcMetrics } from '../executor/metrics.js';
import { GcPrometheus } from '../executor/prometheus.js';
import type { GcServices } from '../services/services.js';
import { AUTH_TOKEN_VARIABLE, parseMesosEnv, type MesosExecutorEnv } from '../io/mesos/env.js';
import { DRIVER_EXIT_OK, MesosHttpDriver } from '../io/mesos/http-driver.js';
import { systemClock } from '../io/system-clock.js';
import { startMetricsServer, type MetricsServer } from '../io/metrics-server.js';
import { createLogger, type Logger } from '../log.js';
import { buildServices } from '../pool/build-services.js';
import type { CliIo } from './io.js';
import { isDirectory } from '../io/is-directory.js';

const HELP = `usage: thermos-gc executor [--checkpoint-root DIR ...] [--mesos-root DIR] [--sandbox-root DIR ...]
                           [--metrics-port P] [--log-level LEVEL] [config flags]

Runs as Aurora's GC executor under a Mesos agent (v1 executor HTTP API). The agent's MESOS_*
environment says where to connect. Logs go to $MESOS_SANDBOX/executor_logs/thermos-gc.log (JSON
lines, rotated by size), warnings and errors also to stderr; metrics to
$MESOS_SANDBOX/executor_vars.json after every run. The worker count is planned for the cgroup's
memory and CPU limits (--memory-limit 128M, --cpu-limit 0.2 override them). Config flags
(durations such as 10m, 250ms; sizes such as 2M): --minimum-kill-age --poll-wait
--max-checkpoint-drift --max-pid-drift --max-lifetime --max-idle --persistence-wait --workers
--batch-size --delete-parallelism --kill-parallelism --kill-budget --lock-timeout --disk-high
--disk-low --inode-high --inode-low --memory-limit --cpu-limit --log-file-size --log-files
--stderr-log-limit.
`;

export const LOG_DIR = 'executor_logs';
export const LOG_FILE = 'thermos-gc.log';
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type Level = (typeof LEVELS)[number];

export interface ExecutorRunOptions {
  /** Called when the hard shutdown deadline passed with work still running: end the process. */
  forceExit?: (code: number) => void;
  /** Removes a variable from the process environment (the token, once read). */
  eraseEnv?: (name: string) => void;
}

/** How long before the agent's grace period ends the executor stops waiting for itself. */
export function hardDeadlineMs(gracePeriodMs: number): number {
  return Math.max(0, gracePeriodMs - Math.min(1_000, gracePeriodMs / 5));
}

function parseExecutorArgs(argv: string[]): Record<string, unknown> {
  try {
    return parseArgs({
      args: argv,
      options: { ...configParseArgsOptions(), 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
}

function logLevel(value: unknown): Level {
  if (value === undefined) return 'info';
  if (typeof value === 'string' && (LEVELS as readonly string[]).includes(value)) return value as Level;
  throw new UsageError(`--log-level: '${String(value)}' is not one of ${LEVELS.join(', ')}`);
}

/** Startup checks worth a log line: a missing Mesos root limits what the executor deletes. */
async function checkRoots(config: GcConfig, log: Logger): Promise<void> {
  if (!(await isDirectory(config.mesosRoot))) {
    log.error({ path: config.mesosRoot }, 'Mesos work dir does not exist: GC runs will delete only tasks reconciliation marks, never finished-and-unlinked ones');
  }
  for (const root of config.checkpointRoots) {
    if (!(await isDirectory(root))) log.warn({ path: root }, 'checkpoint root does not exist');
  }
}

/** What the box allows and what was derived from it, once at start. */
function logResources(resources: GcConfig['resources'], log: Logger): void {
  const { found, warnings, ...derived } = resources;
  log.info({ found, derived }, `resources: memory limit ${derived.memoryLimitBytes === undefined ? 'none' : `${Math.round(derived.memoryLimitBytes / 2 ** 20)} MiB`} (${derived.memoryLimitFrom}), CPU limit ${derived.cpuLimit ?? 'none'} (${derived.cpuLimitFrom}), ${derived.workers} worker(s): ${derived.workersWhy}`);
  for (const problem of found.problems ?? []) log.warn({ problem }, 'cgroup file could not be read');
  for (const w of warnings) log.warn({ workers: derived.workers }, w);
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runExecutor(argv, io, {
    forceExit: (code) => {
      // Work still in flight (a delete that ignores the abort) must not outlive the grace period.
      setTimeout(() => process.exit(code), 50).unref();
    },
    eraseEnv: (name) => {
      delete process.env[name];
    },
  });
}

export async function runExecutor(argv: string[], io: CliIo, options: ExecutorRunOptions = {}): Promise<number> {
  const values = parseExecutorArgs(argv);
  if (values.help === true) {
    io.stdout.write(HELP);
    return 0;
  }
  // The box first: the worker count and heaps are planned for the cgroup's limits.
  const cgroup = await readCgroupLimits();
  const config = compileConfig(rawConfigFromParsed(values), io.env, { cores: availableParallelism(), cgroup });
  const level = logLevel(values['log-level']);
  const mesosEnv: MesosExecutorEnv = parseMesosEnv(io.env);
  // As the C++ library does (src/executor/executor.cpp:293-295): the token is kept in mesosEnv
  // only, so children (ps, worker threads) and diagnostics spawned from here on never see it.
  options.eraseEnv?.(AUTH_TOKEN_VARIABLE);
  const sandbox = mesosEnv.sandbox ?? process.cwd();
  const logger = createLogger({
    level,
    file: join(sandbox, LOG_DIR, LOG_FILE),
    fileBytes: config.logFileBytes,
    files: config.logFiles,
    stderrBytes: config.stderrLogBytes,
    stderr: io.stderr,
  });
  const log = logger.child({ component: 'executor-cli' });
  const { resources, ...settings } = config;
  log.info({ executorId: mesosEnv.executorId, frameworkId: mesosEnv.frameworkId, agent: mesosEnv.domainSocket ?? mesosEnv.agentEndpoint, path: mesosEnv.executorApiPath, config: settings }, 'thermos-gc executor starting');
  logResources(resources, log);
  await checkRoots(config, log);

  const built = await buildServices(config, logger);
  const services: GcServices = built.services;
  const metrics = new GcMetrics();
  metrics.setResources(config.resources);
  if (built.utilisation !== undefined) metrics.setPoolUtilisationSource(built.utilisation);
  const stopLoop = new AbortController();
  let loop: Promise<void> | undefined;
  let executor: GcExecutor | undefined;
  let fireDeadline: () => void = () => undefined;
  const deadlineReached = new Promise<'deadline'>((resolve) => { fireDeadline = () => resolve('deadline'); });
  let deadlineTimer: NodeJS.Timeout | undefined;

  /** Arms the hard deadline once: past it, the current run is aborted and the process exits anyway. */
  const armDeadline = (why: string): void => {
    if (deadlineTimer !== undefined) return;
    const ms = hardDeadlineMs(mesosEnv.shutdownGracePeriodMs);
    deadlineTimer = setTimeout(() => {
      log.warn({ afterMs: ms, why }, 'shutdown deadline reached: aborting the current run and exiting');
      stopLoop.abort();
      fireDeadline();
    }, ms);
  };

  const driver = new MesosHttpDriver(
    mesosEnv,
    {
      onSubscribed: () => {
        // The loop starts once the agent knows us, as the original's run thread did.
        if (loop === undefined && executor !== undefined) {
          const ex = executor;
          loop = ex.run(stopLoop.signal).catch((err: unknown) => {
            log.error({ err: errorMessage(err) }, 'executor loop failed');
            void driver.stop();
          });
        }
      },
      onLaunch: (taskId, data) => executor?.launch(taskId, data),
      onKill: (taskId) => executor?.kill(taskId),
      onShutdown: () => {
        armDeadline('SHUTDOWN');
        executor?.shutdown();
        // Not subscribed long enough to start the loop: nothing to finish.
        if (loop === undefined) void driver.stop();
      },
      onError: (message) => log.error({ message }, 'the agent reported an error'),
    },
    { clock: systemClock, logger: logger.child({ component: 'mesos-driver' }), persistenceWaitMs: config.persistenceWaitMs },
  );
  executor = new GcExecutor({ driver, clock: systemClock, config, services, logger, metrics, varsDir: sandbox });
  metrics.setPendingAckSource(() => driver.pendingAcks());
  metrics.setCallStatsSource(() => driver.callStats());

  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    const prom = new GcPrometheus({ metrics, reports: executor.reports });
    metricsServer = await startMetricsServer({ source: prom, port: config.metricsPort });
    log.info({ url: metricsServer.url }, 'serving Prometheus metrics');
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    log.warn({ signal }, 'signal received: shutting down');
    armDeadline(signal);
    executor?.shutdown();
    if (loop === undefined) void driver.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let startError: string | undefined;
  driver.start().catch((err: unknown) => {
    startError = errorMessage(err);
  });

  let code: number;
  let forced = false;
  try {
    const first = await Promise.race([driver.done, deadlineReached]);
    if (first === 'deadline') {
      forced = true;
      code = DRIVER_EXIT_OK;
      await Promise.race([driver.stop(), sleepMs(200)]);
    } else {
      code = first;
      if (code !== DRIVER_EXIT_OK) {
        // The driver gave up (auth refused, recovery timeout): stop the loop, bounded by the grace period.
        armDeadline('driver gave up');
        stopLoop.abort();
      }
      const end = await Promise.race([(loop ?? Promise.resolve()).then(() => 'loop' as const), deadlineReached]);
      if (end === 'deadline') forced = true;
    }
  } finally {
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await metricsServer?.close().catch(() => undefined);
    await built.close().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'closing the worker pool failed'));
  }

  if (code === DRIVER_EXIT_OK) {
    log.info({ code, forced, runs: executor.reports.length }, forced ? 'executor exiting at the shutdown deadline' : 'executor stopped cleanly');
  } else {
    log.error({ code, reason: startError }, 'executor exiting: the agent connection was given up');
    io.stderr.write(`thermos-gc executor: ${startError ?? 'lost the agent connection for good (see the log)'}\n`);
  }
  logger.flush();
  if (forced) options.forceExit?.(code);
  return code;
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
