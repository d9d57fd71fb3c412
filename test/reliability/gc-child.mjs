// A GC run in its own process, for the SIGKILL test: node gc-child.mjs <buildRoot> <json input>.
// The input names the roots, the scheduler's map and the receive time. Deletion goes through the
// real file system; once it has unlinked `slowAfter` files it prints DELETING and slows down, so
// the parent can kill it in the middle of a tree.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [buildRoot, inputJson] = process.argv.slice(2);
const input = JSON.parse(inputJson);
const load = (rel) => import(pathToFileURL(path.join(buildRoot, rel)).href);
const { compileConfig } = await load('src/config.js');
const { runGc } = await load('src/executor/gc-run.js');
const { createLocalServices } = await load('src/services/local-services.js');
const { GcMetrics } = await load('src/executor/metrics.js');
const { buildSnapshot } = await load('src/io/process-table.js');
const { deleteTargets } = await load('src/io/sandbox-deleter.js');
const { nodeDeleterFs } = await load('src/io/tree-remover.js');
const { silentLogger } = await load('src/log.js');

const config = { ...compileConfig(input.raw), workers: 0 };
const logger = silentLogger();
const base = createLocalServices({ config, logger, snapshot: async () => buildSnapshot([]), uidForUser: () => undefined });
let unlinked = 0;
const fs = {
  ...nodeDeleterFs,
  async rename(from, to) {
    await nodeDeleterFs.rename(from, to);
    process.stdout.write(`RENAMED ${to}\n`);
  },
  async unlink(p) {
    await nodeDeleterFs.unlink(p);
    unlinked++;
    if (unlinked === input.slowAfter) process.stdout.write('DELETING\n');
    if (unlinked >= input.slowAfter) await new Promise((r) => setTimeout(r, 5));
  },
};
const services = { ...base, deleteTargets: (targets, signal) => deleteTargets(targets, { allowedRoots: config.sandboxRoots, parallelism: 2, fs, signal }) };
const driver = {
  sendStatusUpdate: (u) => process.stdout.write(`UPDATE ${JSON.stringify(u)}\n`),
  sendFrameworkMessage: () => process.stdout.write('MESSAGE\n'),
  stop: async () => undefined,
};
const clock = { now: () => input.startMs, sleep: async () => undefined };
await services.finishTrash();
const report = await runGc(
  { gcTaskId: 'gc-child', retained: new Map(Object.entries(input.retained)), startMs: input.startMs },
  { services, driver, clock, config, logger, metrics: new GcMetrics() },
);
process.stdout.write(`DONE ${JSON.stringify(report.deleted)}\n`);
