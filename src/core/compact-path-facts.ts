// The path facts a GC run keeps of every task from its scan to its deletion, small. A sandbox or
// log dir that names the task's id (`<root>/sandboxes/<id>`, Mesos'
// `.../executors/thermos-<id>/runs/<run>/sandbox`) is kept as the text before and after the id,
// and that text is one string shared by every task it fits: at 100,000 tasks the two paths were
// ~15 MiB of the run's heap, as many copies of the same few directories.
import type { TaskFacts, TaskPathFacts } from './facts.js';

/** Distinct texts shared; past this a new one is kept as it is (still correct, just not shared). */
const SHARED_TEXTS_MAX = 4096;

/** One task's path facts: each path rebuilt, when read, from shared text around the task id. */
class CompactTaskPaths implements TaskPathFacts {
  taskId: string;
  root: string;
  state: TaskFacts['state'];
  processRuns: Record<string, number> | undefined;
  // A path is `head + taskId + tail`, or just `head` when tail is undefined (no id in it, or none).
  private readonly sandboxHead: string | undefined;
  private readonly sandboxTail: string | undefined;
  private readonly logDirHead: string | undefined;
  private readonly logDirTail: string | undefined;

  constructor(f: TaskFacts, taskId: string, share: (text: string) => string | undefined) {
    this.taskId = taskId;
    this.root = f.root;
    this.state = f.state;
    this.processRuns = f.processRuns;
    [this.sandboxHead, this.sandboxTail] = split(f.sandbox, f.taskId, share);
    [this.logDirHead, this.logDirTail] = split(f.logDir, f.taskId, share);
  }

  get sandbox(): string | undefined {
    return this.sandboxTail === undefined ? this.sandboxHead : `${this.sandboxHead as string}${this.taskId}${this.sandboxTail}`;
  }

  get logDir(): string | undefined {
    return this.logDirTail === undefined ? this.logDirHead : `${this.logDirHead as string}${this.taskId}${this.logDirTail}`;
  }
}

function split(p: string | undefined, taskId: string, share: (text: string) => string | undefined): [string | undefined, string | undefined] {
  if (p === undefined) return [undefined, undefined];
  // The last occurrence: a task id that also appears in a parent directory's name stays exact.
  const at = taskId === '' ? -1 : p.lastIndexOf(taskId);
  if (at < 0) return [share(p) ?? p, undefined];
  const head = share(p.slice(0, at));
  const tail = share(p.slice(at + taskId.length));
  return head === undefined || tail === undefined ? [p, undefined] : [head, tail];
}

/** Makes the compact path facts of a run's tasks; one per run (its shared texts die with it). */
export class PathFactsCompactor {
  private readonly texts = new Map<string, string>();

  /** The shared copy of a text; undefined when it cannot be copied exactly (a lone surrogate). */
  private readonly share = (text: string): string | undefined => {
    const known = this.texts.get(text);
    if (known !== undefined) return known;
    // A slice of a longer string keeps all of it alive (V8's sliced strings): this is a copy.
    const own = Buffer.from(text, 'utf8').toString('utf8');
    if (own !== text) return undefined;
    if (this.texts.size < SHARED_TEXTS_MAX) this.texts.set(own, own);
    return own;
  };

  /**
   * The task's path facts, reading as the facts would (same sandbox, log dir, runs, state).
   * `taskId` is an equal string to keep instead of the facts' own copy.
   */
  of(f: TaskFacts, taskId = f.taskId): TaskPathFacts {
    if (taskId !== f.taskId) throw new RangeError(`PathFactsCompactor: ${taskId} given for the facts of ${f.taskId}`);
    return new CompactTaskPaths(f, taskId, this.share);
  }
}
