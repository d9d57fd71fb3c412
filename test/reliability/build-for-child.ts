// Child processes run the compiled code. `dist/` is used when it is newer than every source
// file; otherwise the sources are compiled into a private directory under node_modules/.cache
// (so that the compiled files still resolve the project's packages, and `dist/` is left alone).
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import fg from 'fast-glob';

const PROJECT = path.resolve(import.meta.dirname, '..', '..');
const PRIVATE_OUT = path.join(PROJECT, 'node_modules', '.cache', 'thermos-gc-reliability-build');

async function mtime(p: string): Promise<number> {
  try {
    return (await stat(p)).mtimeMs;
  } catch {
    return -1;
  }
}

async function newestSource(): Promise<number> {
  const files = await fg('src/**/*.ts', { cwd: PROJECT, absolute: true });
  let newest = 0;
  for (const f of files) newest = Math.max(newest, await mtime(f));
  return newest;
}

/** A directory holding `src/**.js` compiled from the current sources. */
export async function compiledRoot(): Promise<string> {
  const newest = await newestSource();
  const probe = 'src/executor/gc-run.js';
  if ((await mtime(path.join(PROJECT, 'dist', probe))) >= newest) return path.join(PROJECT, 'dist');
  if ((await mtime(path.join(PRIVATE_OUT, probe))) >= newest) return PRIVATE_OUT;
  const tsc = path.join(PROJECT, 'node_modules', 'typescript', 'bin', 'tsc');
  // Type errors elsewhere (files being edited) do not stop the emit; a missing output does.
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', PRIVATE_OUT], { cwd: PROJECT }).catch(() => undefined);
  if ((await mtime(path.join(PRIVATE_OUT, probe))) < newest) throw new Error(`could not compile the sources into ${PRIVATE_OUT}`);
  return PRIVATE_OUT;
}
