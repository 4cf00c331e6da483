// What the one operator-facing durability setting (DURABILITY) means for the gateway's own
// writes. The README's "Durability" section states each value's exact loss window; the
// numbers below are what was measured for each choice (bench/README.md).
import type { Env } from '../config.ts';

export interface DurabilityPolicy {
  /**
   * The create-response write (the `processing` row) is committed before the upstream is
   * called. Otherwise it is sent together with the upstream call and the reply waits for it:
   * measured in four interleaved pairs of P2 runs, sequential added p50 0.70–0.85 ms against
   * 0.78–1.04 ms when committed first, and at 500 req/s 0.63–0.82 against 1.10–1.39 ms.
   */
  createBeforeProxy: boolean;
  /**
   * The create write waits for its WAL flush. Not waiting took the disk's fsync tail off
   * every request (added p99 at 500 req/s, interleaved: 4.5 ms without the wait, 6.6–6.8 ms
   * with it); the commit still survives a gateway crash at once and a PostgreSQL crash
   * after ~3 × wal_writer_delay, and complete-response (synchronous, carrying the whole
   * request) recreates the row.
   */
  syncCreateCommit: boolean;
  /**
   * How long a complete-response enqueue waits for others to share its pg-boss insert. 25 ms
   * took complete-response envelopes at 500 req/s from ~3 records to ~12; nobody waits on
   * it in `fast` (the client has its answer), so it costs no latency there.
   */
  completeLingerMs: number;
  /**
   * The completion record is committed before the answer's final bytes go out (a JSON
   * answer waits whole; a stream's terminal events wait), so no client holds an answer whose
   * record could still be lost, even if the gateway is killed right after answering.
   */
  completeBeforeReply: boolean;
}

export const DURABILITY_POLICIES: Readonly<Record<Env['DURABILITY'], DurabilityPolicy>> = Object.freeze({
  fast: { createBeforeProxy: false, syncCreateCommit: false, completeLingerMs: 25, completeBeforeReply: false },
  strict: { createBeforeProxy: true, syncCreateCommit: true, completeLingerMs: 0, completeBeforeReply: true },
});
