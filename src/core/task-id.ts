// Task ids (and process names) become path components: `tasks/active/<id>`, `checkpoints/<id>`,
// `<log_dir>/<process>/...`. A name that is not a single, plain component could reach outside.
import { ThermosGcError } from '../errors.js';

/** Longest file name most Linux filesystems accept (NAME_MAX), in bytes. */
export const MAX_COMPONENT_BYTES = 255;

export type UnsafeNameReason = 'empty' | 'dot' | 'dot-dot' | 'slash' | 'nul' | 'too-long';

/**
 * Whether `name` takes more than `max` bytes as UTF-8 (a lone surrogate as U+FFFD's three, as
 * TextEncoder writes it), counted without encoding: every scan checks every id, and an encode
 * allocated a buffer for each Aurora-length one.
 */
function utf8LongerThan(name: string, max: number): boolean {
  let n = 0;
  for (let i = 0; i < name.length && n <= max; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (name.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n > max;
}

/** Why `name` cannot be used as one path component, or undefined when it can. */
export function unsafeComponentReason(name: string): UnsafeNameReason | undefined {
  if (name === '') return 'empty';
  if (name === '.') return 'dot';
  if (name === '..') return 'dot-dot';
  if (name.includes('/')) return 'slash';
  if (name.includes('\0')) return 'nul';
  // Every UTF-16 unit is at least one UTF-8 byte, so short strings skip the encode.
  if (name.length * 3 > MAX_COMPONENT_BYTES && utf8LongerThan(name, MAX_COMPONENT_BYTES)) return 'too-long';
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
