// Bounded concurrency for async work over many items (files, tasks): at most `width` in flight.

/** Runs `fn` over `items` with at most `width` at once, keeping the input order in the result. */
export async function mapBounded<T, R>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, () => lane()));
  return out;
}
