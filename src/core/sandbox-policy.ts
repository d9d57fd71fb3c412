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
  /** Tasks that stay: their sandboxes (and anything inside or around them) are untouchable. Read once. */
  kept: Iterable<SandboxClaim>;
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
  // Already normal (the usual case): the same string, not an equal copy per kept task.
  if (isPlainAbsolute(p)) return p;
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** An absolute path posix.normalize leaves as it is, with no trailing slash. */
function isPlainAbsolute(p: string): boolean {
  if (p === '/') return true;
  return !p.endsWith('/') && !p.endsWith('/.') && !p.endsWith('/..') && !p.includes('//') && !p.includes('/./') && !p.includes('/../');
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

  // Each candidate's refusal by its own path; the paths left may still overlap a kept sandbox.
  const own = input.candidates.map((c) => ownRefusal(c.sandbox, roots, rootSet));
  const open = new Set<string>();
  input.candidates.forEach((c, i) => {
    if (own[i] === undefined) open.add(c.sandbox as string);
  });
  const overlapping = overlapsWithKept(open, input.kept);

  const approved = new Map<string, string>();
  const refused: SandboxRefusal[] = [];
  const shared: SandboxSharing[] = [];
  const approvedBy = new Map<string, string>();
  input.candidates.forEach(({ taskId, sandbox }, i) => {
    const reason = own[i] ?? (overlapping.has(sandbox as string) ? 'shared-with-kept-task' : undefined);
    if (reason !== undefined) {
      refused.push(reason === 'no-sandbox' ? { taskId, reason } : { taskId, path: sandbox, reason });
      return;
    }
    const path = sandbox as string;
    const first = approvedBy.get(path);
    if (first !== undefined) {
      if (first !== taskId) shared.push({ taskId, path, approvedFor: first });
      return;
    }
    approvedBy.set(path, taskId);
    approved.set(taskId, path);
  });
  return { approved, refused, shared };
}

/** Why a candidate's own path may not be deleted, kept tasks aside. */
function ownRefusal(sandbox: string | undefined, roots: readonly string[], rootSet: ReadonlySet<string>): SandboxRefusalReason | undefined {
  if (sandbox === undefined || sandbox === '') return 'no-sandbox';
  if (!posix.isAbsolute(sandbox)) return 'relative';
  if (!isNormalised(sandbox)) return 'not-normalised';
  if (rootSet.has(sandbox)) return 'is-allowed-root';
  if (!roots.some((r) => isStrictlyInside(sandbox, r))) return 'outside-allowed-roots';
  return undefined;
}

/**
 * The candidate paths some kept sandbox overlaps: the same path, a path around it (one of its
 * ancestors) or one inside it (they sort right after `kept/`). The kept sandboxes are read one at
 * a time and not held: only the candidates' paths are, so a run with 100,000 tasks that keeps
 * most of them does not hold every kept sandbox (and its ancestors) at once.
 */
function overlapsWithKept(open: ReadonlySet<string>, kept: Iterable<SandboxClaim>): Set<string> {
  const out = new Set<string>();
  if (open.size === 0) return out;
  const sorted = [...open].sort();
  for (const k of kept) {
    if (k.sandbox === undefined || k.sandbox === '') continue;
    const n = normaliseAbsolute(k.sandbox);
    if (n === undefined) continue;
    if (open.has(n)) out.add(n);
    for (const a of ancestors(n)) if (open.has(a)) out.add(a);
    const prefix = n === '/' ? '/' : `${n}/`;
    for (let i = lowerBound(sorted, prefix); i < sorted.length && (sorted[i] as string).startsWith(prefix); i++) out.add(sorted[i] as string);
  }
  return out;
}

/** The first index whose entry is not below `s`. */
function lowerBound(sorted: readonly string[], s: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
