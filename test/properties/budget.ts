// How hard the property and fuzz suites push. CI keeps them to seconds; THERMOS_GC_SOAK=1 (see
// docs/safety.md and scripts/soak.sh) multiplies runs and time. THERMOS_GC_SOAK_SEED replays a seed.
export const SOAK = process.env.THERMOS_GC_SOAK === '1';

/** fast-check numRuns: `ci` normally, `ci * 20` when soaking. */
export function numRuns(ci: number): number {
  return SOAK ? ci * 20 : ci;
}

/** A fuzz target's time budget in ms: `ciMs` normally, 60 s per target when soaking. */
export function fuzzTimeMs(ciMs: number): number {
  return SOAK ? Math.max(60_000, ciMs) : ciMs;
}

/** A seed for fast-check when one is given (replays a failure printed by an earlier run). */
export function seedOption(): { seed?: number } {
  const s = process.env.THERMOS_GC_SOAK_SEED;
  return s === undefined || s === '' ? {} : { seed: Number(s) };
}

/** The vitest timeout for a suite whose CI budget is `ciMs`. */
export function testTimeoutMs(ciMs: number): number {
  return SOAK ? ciMs * 40 + 600_000 : ciMs;
}
