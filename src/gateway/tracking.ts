// Enqueues complete-response after the client has its answer: off the client's latency path,
// but never dropped. A failed enqueue is retried in process with exponential backoff
// (p-retry) until it is stored (the deterministic job id makes a retry after an ambiguous
// failure harmless). If the process dies first, the sweeper closes the row as TrackingLost
// (DESIGN 8.3).
import pRetry from 'p-retry';
import type { CompleteResponsePayload } from '../jobs/definitions.ts';
import type { Logger } from '../logger.ts';
import { trackingEnqueueErrors, trackingPending } from '../metrics.ts';

export interface CompletionTrackerOptions {
  enqueue(payload: CompleteResponsePayload): Promise<void>;
  logger: Logger;
  /** Backoff between attempts: from `minMs`, doubling, at most `maxMs` (with jitter). */
  retry?: { minMs: number; maxMs: number };
}

export interface CompletionTracker {
  /** Starts storing the completion; returns at once, with a promise of it stored (never rejected). */
  complete(payload: CompleteResponsePayload): Promise<void>;
  /** Resolves when every completion accepted so far is stored, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<{ unsaved: number }>;
  readonly pending: number;
}

/** 50 ms, then doubling to 30 s: a blip is retried at once, an outage every 30 s. */
const DEFAULT_RETRY = { minMs: 50, maxMs: 30_000 };

export function createCompletionTracker(opts: CompletionTrackerOptions): CompletionTracker {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const inFlight = new Set<Promise<void>>();
  const log = opts.logger.child({ component: 'tracking' });

  const store = (payload: CompleteResponsePayload): Promise<void> =>
    // p-retry gives up at once on a TypeError (it takes one for a programming error); a record
    // is never given up on, so such an error is retried like any other.
    pRetry(() => opts.enqueue(payload).catch((err: unknown) => Promise.reject(err instanceof TypeError ? new Error(err.message, { cause: err }) : err)), {
      retries: Number.POSITIVE_INFINITY,
      factor: 2,
      minTimeout: retry.minMs,
      maxTimeout: retry.maxMs,
      randomize: true,
      onFailedAttempt: ({ error, attemptNumber }) => {
        trackingEnqueueErrors.inc({ queue: 'complete-response' });
        log[attemptNumber <= 3 ? 'warn' : 'error'](
          { err: error, requestId: payload.requestId, attempt: attemptNumber },
          'could not enqueue complete-response; retrying',
        );
      },
    });

  return {
    complete(payload) {
      const done: Promise<void> = store(payload).finally(() => {
        inFlight.delete(done);
        trackingPending.dec();
      });
      inFlight.add(done);
      trackingPending.inc();
      return done;
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
