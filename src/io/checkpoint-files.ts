// Small file steps of a kill: finalizing a task (its task file moves to finished/), reading a
// checkpoint that may be absent, and appending whole records to an open checkpoint.
import { writeSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { taskFilePath } from './checkpoint-paths.js';

/** Moves `tasks/active/<id>` to `tasks/finished/<id>`; false when there was no active file. */
export async function finalizeTask(root: string, taskId: string): Promise<boolean> {
  const from = taskFilePath(root, 'active', taskId);
  const to = taskFilePath(root, 'finished', taskId);
  await mkdir(path.dirname(to), { recursive: true });
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
