/** Small statistics helpers: every reported figure is a median over repetitions. */

/** Linear-interpolated percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export interface Quantiles {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

export function quantiles(values: readonly number[]): Quantiles {
  return { p50_ms: percentile(values, 50), p95_ms: percentile(values, 95), p99_ms: percentile(values, 99) };
}

/** a − b, quantile by quantile (an added latency: through the gateway minus direct). */
export function minusQuantiles(a: Quantiles, b: Quantiles): Quantiles {
  return { p50_ms: a.p50_ms - b.p50_ms, p95_ms: a.p95_ms - b.p95_ms, p99_ms: a.p99_ms - b.p99_ms };
}

/** Per-key median of several Quantiles. */
export function medianQuantiles(runs: readonly Quantiles[]): Quantiles {
  return {
    p50_ms: median(runs.map((r) => r.p50_ms)),
    p95_ms: median(runs.map((r) => r.p95_ms)),
    p99_ms: median(runs.map((r) => r.p99_ms)),
  };
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` for indices 0..n-1 with at most `concurrency` in flight. */
export async function forEachConcurrent(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
}
