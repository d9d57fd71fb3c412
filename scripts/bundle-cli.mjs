// Bundles the compiled CLI (dist/src/cli, from `tsc`) into dist/bundle/cli, which
// bin/thermos-gc.js runs: one module per command plus shared chunks, instead of ~45 modules
// the ESM loader resolves, reads and links one by one at every start. Measured on a 10,000-task
// `plan` (dense): ~26 ms of ~430; on a 10-task one, ~13 ms of ~124. The code is tsc's output as
// is (no minifying, names kept); packages stay external, loaded from node_modules.
//
// The bundle sits at the depth of dist/src/<dir>, so the paths the code builds from
// import.meta.url (../../workers, ../../../bin) resolve the same from either. Every module a path
// or a variable import names (main.ts imports `./<command>.js`, tune spawns `./tune-trial.js`) is
// an entry point of its own. The worker threads load dist/workers, unbundled.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'src', 'cli');
const outdir = path.join(repo, 'dist', 'bundle', 'cli');
// main.js's own list of command modules, so a new command is bundled without a second list here.
const { COMMAND_MODULES } = await import(path.join(cli, 'main.js'));
const entries = ['./main.js', ...COMMAND_MODULES, './tune-trial.js'];

await rm(path.join(repo, 'dist', 'bundle'), { recursive: true, force: true });
await build({
  entryPoints: entries.map((m) => path.join(cli, m)),
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
