/**
 * Wall-clock time in epoch milliseconds with sub-millisecond precision (Date.now() has whole
 * milliseconds, too coarse for a gateway that adds well under one): the monotonic clock offset
 * by the moment the process started. Durations between two readings are exact.
 */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
