// A one-line progress bar on a terminal, for long runs only: nothing is drawn on a pipe, and
// nothing before `delayMs` has passed (short runs stay quiet). Redraws are throttled.

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  stream: ProgressStream;
  total: number;
  label: string;
  /** @default 500 ms */
  delayMs?: number;
  /** @default 100 ms */
  intervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface Progress {
  /** Adds `n` (default 1) done items. */
  tick(n?: number): void;
  /** Clears the bar if one was drawn. */
  done(): void;
  readonly drawn: boolean;
}

/** The bar text for `done` of `total`, fitting `width` columns. */
export function renderProgress(label: string, done: number, total: number, width: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const counts = `${done}/${total} ${String(Math.floor(share * 100)).padStart(3)}%`;
  const barWidth = Math.max(10, Math.min(40, width - label.length - counts.length - 5));
  const filled = Math.round(share * barWidth);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${counts}`;
}

export function createProgress(opts: ProgressOptions): Progress {
  const now = opts.now ?? Date.now;
  const started = now();
  const delayMs = opts.delayMs ?? 500;
  const intervalMs = opts.intervalMs ?? 100;
  const enabled = opts.stream.isTTY === true && opts.total > 0;
  let count = 0;
  let lastDraw = -Infinity;
  let drawn = false;
  const draw = (): void => {
    const text = renderProgress(opts.label, count, opts.total, opts.stream.columns ?? 80);
    opts.stream.write(`\r${text}\x1b[K`);
    drawn = true;
    lastDraw = now();
  };
  return {
    tick(n = 1): void {
      count += n;
      if (!enabled) return;
      const t = now();
      if (t - started < delayMs || t - lastDraw < intervalMs) return;
      draw();
    },
    done(): void {
      if (drawn) opts.stream.write('\r\x1b[K');
      drawn = false;
    },
    get drawn(): boolean {
      return drawn;
    },
  };
}
