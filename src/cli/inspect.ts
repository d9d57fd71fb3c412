// `thermos-gc inspect`: decode and replay every task's runner checkpoint, as JSON or a table.
// Lists through the same scanner as every command and replays on the pool (or inline with
// `--workers 0`, and for one batch or less); only inspect builds the full replay it prints.
import { parseArgs } from 'node:util';
import { compileConfig } from '../config.js';
import { ThermosGcError, UsageError, errorMessage } from '../errors.js';
import { createServices } from '../pool/pool-services.js';
import { formatInspectTable, type InspectEntry } from '../report/inspect-report.js';
import { quietLogger } from '../services/quiet-logger.js';
import { oneShotScanConfig, type CliIo } from './io.js';

const HELP = `usage: thermos-gc inspect --checkpoint-root DIR [--checkpoint-root DIR ...] [--workers N] [--json] [TASK_ID ...]

Decodes and replays the runner checkpoint of every task under the roots (or only the ids given).
--json prints one object keyed by task id; a checkpoint that cannot be replayed gets "error".
Checkpoints are replayed on this thread unless --workers N (or THERMOS_GC_WORKERS) asks for threads.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'checkpoint-root': { type: 'string', multiple: true },
        workers: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (parsed.values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const roots = parsed.values['checkpoint-root'] ?? [];
  if (roots.length === 0) throw new UsageError('--checkpoint-root is required');
  const raw = { checkpointRoots: roots, ...(parsed.values.workers === undefined ? {} : { workers: parsed.values.workers }) };
  const services = createServices(oneShotScanConfig(compileConfig(raw, io.env), parsed.values, io.env), quietLogger());
  let detection;
  let entries: InspectEntry[];
  const wanted = parsed.positionals;
  let refs;
  try {
    try {
      detection = await services.listTasks(roots);
    } catch (err) {
      if (err instanceof ThermosGcError && err.code === 'ERR_CONFIG') throw new UsageError(err.message);
      throw err;
    }
    const byId = new Map(detection.refs.map((t) => [t.taskId, t]));
    refs = wanted.length > 0 ? wanted.flatMap((id) => byId.get(id) ?? []) : detection.refs;
    entries = await services.inspectTasks(refs);
  } finally {
    await services.close();
  }

  const result: Record<string, InspectEntry> = {};
  const ids = wanted.length > 0 ? wanted : refs.map((r) => r.taskId);
  const entryById = new Map(refs.map((ref, i) => [ref.taskId, entries[i] as InspectEntry]));
  for (const id of ids) {
    Object.defineProperty(result, id, {
      value: entryById.get(id) ?? { error: 'no such task under the checkpoint roots' },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  for (const r of detection.rejected) io.stderr.write(`thermos-gc inspect: skipped ${r.root}/tasks/${r.state}/${JSON.stringify(r.name)}: ${r.reason}\n`);
  io.stdout.write(parsed.values.json ? `${JSON.stringify(result, null, 1)}\n` : formatInspectTable(result));
  return 0;
}
