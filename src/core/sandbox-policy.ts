// Which sandbox directories may be deleted. Pure: paths are compared as strings split on '/',
// never resolved against the file system (the deleter re-checks symlinks at delete time).
import { posix } from 'node:path';

export type SandboxRefusalReason =
  | 'no-sandbox'
  | 'relative'
  | 'not-normalised'
  | 'is-allowed-root'
  | 'outside-allowed-roots'
  | 'shared-with-kept-task';

export interface SandboxClaim {
  taskId: string;
  sandbox?: string;
}

export interface SandboxPolicyInput {
  /** Tasks to delete, in priority order: when two share a sandbox the first one gets it. */
  candidates: readonly SandboxClaim[];
  /** Tasks that stay: their sandboxes (and anything inside or around them) are untouchable. */
  kept: readonly SandboxClaim[];
  allowedRoots: readonly string[];
}

export interface SandboxRefusal {
  taskId: string;
  /** Absent for 'no-sandbox'. */
  path?: string;
  reason: SandboxRefusalReason;
}

export interface SandboxSharing {
  taskId: string;
  path: string;
  /** The candidate whose approval covers this sandbox. */
  approvedFor: string;
}

export interface SandboxDecision {
  /** taskId → sandbox path to delete. */
  approved: Map<string, string>;
  refused: SandboxRefusal[];
  /** Candidates whose sandbox is deleted once, under another candidate's approval. */
  shared: SandboxSharing[];
}

/** Normalised absolute form without a trailing slash ('/' stays '/'); undefined for relative paths. */
export function normaliseAbsolute(p: string): string | undefined {
  if (!posix.isAbsolute(p)) return undefined;
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** True when `child` lies strictly below `parent`, comparing whole segments (/a/bc is not in /a/b). */
export function isStrictlyInside(child: string, parent: string): boolean {
  if (parent === '/') return child !== '/' && child.startsWith('/');
  return child.length > parent.length && child.startsWith(parent) && child.charCodeAt(parent.length) === 0x2f;
}

/** Every proper ancestor of an absolute normalised path, nearest first ('/a/b/c' → '/a/b', '/a', '/'). */
function ancestors(p: string): string[] {
  const out: string[] = [];
  let cut = p.lastIndexOf('/');
  while (cut > 0) {
    p = p.slice(0, cut);
    out.push(p);
    cut = p.lastIndexOf('/');
  }
  if (p !== '/') out.push('/');
  return out;
}

function isNormalised(p: string): boolean {
  return posix.normalize(p) === p && (p === '/' || !p.endsWith('/')) && !p.split('/').includes('..');
}

/**
 * Approves a candidate's sandbox only when it is an absolute, normalised path strictly inside an
 * allowed root, and no kept task names the same path, a path inside it or a path around it.
 * Relative kept sandboxes (old checkpoints) cannot be placed and are ignored; the candidate side
 * refuses relative paths outright.
 */
export function decideSandboxes(input: SandboxPolicyInput): SandboxDecision {
  const roots: string[] = [];
  for (const r of input.allowedRoots) {
    const n = normaliseAbsolute(r);
    if (n !== undefined) roots.push(n);
  }
  const rootSet = new Set(roots);

  // Kept paths and all their ancestors: a candidate equal to either overlaps a kept sandbox.
  const keptPaths = new Set<string>();
  const aroundKept = new Set<string>();
  for (const k of input.kept) {
    if (k.sandbox === undefined || k.sandbox === '') continue;
    const n = normaliseAbsolute(k.sandbox);
    if (n === undefined) continue;
    keptPaths.add(n);
    for (const a of ancestors(n)) aroundKept.add(a);
  }

  const approved = new Map<string, string>();
  const refused: SandboxRefusal[] = [];
  const shared: SandboxSharing[] = [];
  const approvedBy = new Map<string, string>();

  for (const { taskId, sandbox } of input.candidates) {
    const reason = refusalReason(sandbox, roots, rootSet, keptPaths, aroundKept);
    if (reason !== undefined) {
      refused.push(reason === 'no-sandbox' ? { taskId, reason } : { taskId, path: sandbox, reason });
      continue;
    }
    const path = sandbox as string;
    const first = approvedBy.get(path);
    if (first !== undefined) {
      if (first !== taskId) shared.push({ taskId, path, approvedFor: first });
      continue;
    }
    approvedBy.set(path, taskId);
    approved.set(taskId, path);
  }
  return { approved, refused, shared };
}

function refusalReason(
  sandbox: string | undefined,
  roots: readonly string[],
  rootSet: ReadonlySet<string>,
  keptPaths: ReadonlySet<string>,
  aroundKept: ReadonlySet<string>,
): SandboxRefusalReason | undefined {
  if (sandbox === undefined || sandbox === '') return 'no-sandbox';
  if (!posix.isAbsolute(sandbox)) return 'relative';
  if (!isNormalised(sandbox)) return 'not-normalised';
  if (rootSet.has(sandbox)) return 'is-allowed-root';
  if (!roots.some((r) => isStrictlyInside(sandbox, r))) return 'outside-allowed-roots';
  if (keptPaths.has(sandbox) || aroundKept.has(sandbox)) return 'shared-with-kept-task';
  for (const a of ancestors(sandbox)) if (keptPaths.has(a)) return 'shared-with-kept-task';
  return undefined;
}
