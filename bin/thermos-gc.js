#!/usr/bin/env node
// Compiled entry point: `npm run build` writes dist/ (and bundles its CLI); no TypeScript loader is needed at run time.
import { tuneHeap } from '../dist/src/heap-tuning.js';

// Before anything else allocates: see src/heap-tuning.ts.
tuneHeap();
// The bundled CLI (scripts/bundle-cli.mjs): the same code as dist/src/cli, in a few modules.
const { main, EXITS_WHEN_DONE } = await import('../dist/bundle/cli/main.js');

// `thermos-gc inspect | head`: a reader that went away is not an error of ours.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
    // Once what was written has left (a pipe whose reader is slow takes the rest asynchronously).
    if (EXITS_WHEN_DONE.has(argv[0] ?? '')) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  },
  (err) => {
    process.stderr.write(`thermos-gc: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
