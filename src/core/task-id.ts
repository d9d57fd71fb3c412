// Task ids (and process names) become path components: `tasks/active/<id>`, `checkpoints/<id>`,
// `<log_dir>/<process>/...`. A name that is not a single, plain component could reach outside.
import { ThermosGcError } from '../errors.js';

/** Longest file name most Linux filesystems accept (NAME_MAX), in bytes. */
export const MAX_COMPONENT_BYTES = 255;

export type UnsafeNameReason = 'empty' | 'dot' | 'dot-dot' | 'slash' | 'nul' | 'too-long';

const utf8 = new TextEncoder();

/** Why `name` cannot be used as one path component, or undefined when it can. */
export function unsafeComponentReason(name: string): UnsafeNameReason | undefined {
  if (name === '') return 'empty';
  if (name === '.') return 'dot';
  if (name === '..') return 'dot-dot';
  if (name.includes('/')) return 'slash';
  if (name.includes('\0')) return 'nul';
  // Every UTF-16 unit is at least one UTF-8 byte, so short strings skip the encode.
  if (name.length * 3 > MAX_COMPONENT_BYTES && utf8.encode(name).length > MAX_COMPONENT_BYTES) return 'too-long';
  return undefined;
}

export function isSafePathComponent(name: string): boolean {
  return unsafeComponentReason(name) === undefined;
}

export function isSafeTaskId(id: string): boolean {
  return unsafeComponentReason(id) === undefined;
}

/** Throws ERR_UNSAFE_TASK_ID when `id` cannot be used as a path component. */
export function assertSafeTaskId(id: string): void {
  const reason = unsafeComponentReason(id);
  if (reason !== undefined) {
    throw new ThermosGcError('ERR_UNSAFE_TASK_ID', `task id ${JSON.stringify(id)} is not a safe path component (${reason})`, {
      taskId: id,
    });
  }
}
