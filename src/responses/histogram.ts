// The latency histograms of the usage rollups (DESIGN 12), read side. The buckets are fixed
// and log-scale, the same as the SQL function volley_latency_bucket (migration 0007): bucket
// 0 is [0, 0.125 ms), bucket k ≥ 1 is [0.125·2^((k-1)/4), 0.125·2^(k/4)) ms, about 19 % wide,
// and the last bucket takes everything above. Histograms are arrays of counts indexed by
// bucket and add element-wise, so a percentile over any range and any groups is one pass
// over the sum of their rows. Pure: no I/O.

export const HISTOGRAM_BUCKETS = 104;
const BASE_MS = 0.125;

/** The bucket of a duration in ms (undefined for none). */
export function bucketOf(ms: number | null | undefined): number | undefined {
  if (ms === null || ms === undefined || !(ms >= 0)) return undefined;
  if (ms < BASE_MS) return 0;
  return Math.min(HISTOGRAM_BUCKETS - 1, Math.floor((4 * Math.log(ms / BASE_MS)) / Math.LN2) + 1);
}

/** [lower, upper) of bucket k in ms; the last bucket's upper bound is its lower one doubled. */
export function bucketBounds(k: number): [number, number] {
  if (k <= 0) return [0, BASE_MS];
  const lower = BASE_MS * 2 ** ((k - 1) / 4);
  return [lower, k >= HISTOGRAM_BUCKETS - 1 ? lower * 2 : BASE_MS * 2 ** (k / 4)];
}

/**
 * Adds histograms written as text into `into`, element-wise, reading the digits in place: no
 * array or string per element. The text is histograms separated by ';', each comma-separated
 * counts ("0,3,1", PostgreSQL's array_to_string), optionally after "k:" when its first count
 * is bucket k's ("12:1" is one count in bucket 12). A month by hour is ~27,000 rollup rows of
 * three histograms; read as int[], each of their 4,000,000 counts became a string first.
 */
export function addCountsText(into: number[], text: string): void {
  if (text === '') return;
  let i = 0;
  let value = 0;
  let negative = false;
  let digits = false;
  for (let k = 0; k <= text.length; k++) {
    const c = k < text.length ? text.charCodeAt(k) : 59; // a final ';'
    if (c === 44 || c === 59) {
      if (digits) into[i] = (into[i] ?? 0) + (negative ? -value : value);
      else if (into[i] === undefined && c === 44) into[i] = 0;
      i = c === 59 ? 0 : i + 1;
      value = 0;
      negative = false;
      digits = false;
    } else if (c === 58) {
      // "k:": the next count is bucket k's.
      i = value;
      for (let j = into.length; j < i; j++) into[j] = 0;
      value = 0;
      digits = false;
    } else if (c === 45) negative = true;
    else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits = true;
    }
  }
}

/**
 * The p-th percentile (0–100) of a histogram, interpolated inside the bucket the rank falls
 * in (so it always lies in the bucket of the exact percentile); null when it counts nothing.
 * Nearest-rank: the value below which p % of the observations fall.
 */
export function histogramPercentile(hist: readonly number[], p: number): number | null {
  let total = 0;
  for (const c of hist) total += Math.max(0, c);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let k = 0; k < hist.length; k++) {
    const c = Math.max(0, hist[k] ?? 0);
    if (c === 0) continue;
    if (seen + c >= rank) {
      const [lo, hi] = bucketBounds(k);
      // The rank's position among this bucket's observations, spread evenly over the bucket.
      return lo + ((hi - lo) * (rank - seen - 0.5)) / c;
    }
    seen += c;
  }
  const [lo] = bucketBounds(hist.length - 1);
  return lo;
}

/** A histogram of raw values (tests, and anything that has the rows). */
export function histogramOf(values: readonly (number | null | undefined)[]): number[] {
  const out: number[] = [];
  for (const v of values) {
    const k = bucketOf(v);
    if (k === undefined) continue;
    while (out.length <= k) out.push(0);
    out[k]!++;
  }
  return out;
}
