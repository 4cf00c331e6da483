// What the request processor does with an upstream outcome, and how long it waits before the
// next attempt (DESIGN 8.1). Pure: no I/O, the clock and the random source are arguments.

/** 408, 429 and every 5xx are worth another attempt; other 4xx are the request's own fault. */
export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export interface BackoffPolicy {
  /** Delay before the second attempt; doubles with every attempt after it. */
  baseMs: number;
  /** The computed delay never exceeds this (a Retry-After header may ask for longer). */
  maxMs: number;
}

/**
 * The delay before attempt `attempt + 1`, given that `attempt` (0-based) just failed:
 * `min(maxMs, baseMs * 2^attempt)`, of which the upper half is random ("equal jitter"), so
 * processes that failed together do not retry in lockstep, while the delay still grows with
 * every attempt (the delays of consecutive attempts never overlap).
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * A `Retry-After` header in milliseconds from `nowMs`: delta-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`). A date in the past is 0; anything else is undefined.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  // Only a date that names a weekday or month (HTTP-date forms), not any string Date.parse accepts.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * When the next attempt may start: the backoff delay, or the upstream's Retry-After when
 * that asks for longer (an upstream that says "not before" is taken at its word).
 */
export function nextAttemptDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  return Math.max(backoffDelayMs(policy, attempt, random), retryAfterMs ?? 0);
}
