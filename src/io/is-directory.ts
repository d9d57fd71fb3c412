// Whether a path is a directory (following links); any error, missing included, means no.
import { stat } from 'node:fs/promises';

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
