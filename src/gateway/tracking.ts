// Enqueues complete-response after the client has its answer: off the client's latency path,
// but never dropped. A failed enqueue is retried in process with backoff until it is stored
// (the deterministic job id makes a retry after an ambiguous failure harmless). If the
// process dies first, the sweeper closes the row as TrackingLost (DESIGN 8.3).
import type { CompleteResponsePayload } from '../jobs/definitions.ts';
import type { Logger } from '../logger.ts';
import { trackingEnqueueErrors, trackingPending } from '../metrics.ts';

export interface CompletionTrackerOptions {
  enqueue(payload: CompleteResponsePayload): Promise<void>;
  logger: Logger;
  /** Delay before retry n (the last one repeats). */
  retryDelaysMs?: readonly number[];
}

export interface CompletionTracker {
  /** Starts storing the completion; returns at once. */
  complete(payload: CompleteResponsePayload): void;
  /** Resolves when every completion accepted so far is stored, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<{ unsaved: number }>;
  readonly pending: number;
}

const DEFAULT_DELAYS_MS = [50, 200, 1_000, 2_000, 5_000, 10_000, 30_000];

export function createCompletionTracker(opts: CompletionTrackerOptions): CompletionTracker {
  const delays = opts.retryDelaysMs ?? DEFAULT_DELAYS_MS;
  const inFlight = new Set<Promise<void>>();
  const log = opts.logger.child({ component: 'tracking' });

  const store = async (payload: CompleteResponsePayload): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await opts.enqueue(payload);
        if (attempt > 0) log.info({ requestId: payload.requestId, attempt }, 'complete-response stored after retries');
        return;
      } catch (err) {
        trackingEnqueueErrors.inc({ queue: 'complete-response' });
        const delay = delays[Math.min(attempt, delays.length - 1)] ?? 1_000;
        log[attempt < 3 ? 'warn' : 'error'](
          { err, requestId: payload.requestId, attempt, retryInMs: delay },
          'could not enqueue complete-response; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  return {
    complete(payload) {
      const done: Promise<void> = store(payload).finally(() => {
        inFlight.delete(done);
        trackingPending.dec();
      });
      inFlight.add(done);
      trackingPending.inc();
    },
    async flush(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.all([...inFlight]), timeout]);
      clearTimeout(timer);
      if (inFlight.size > 0) log.error({ unsaved: inFlight.size }, 'shutting down with unsaved completions');
      return { unsaved: inFlight.size };
    },
    get pending() {
      return inFlight.size;
    },
  };
}
