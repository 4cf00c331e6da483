// The realtime requests this gateway holds: from the moment it records one until its
// completion record is stored (the upstream call, a long stream, a completion still being
// retried). Their rows are touched a few times per sweep threshold, so the sweeper never
// takes a request a live gateway still holds for a lost one (DESIGN 13); the Idempotency-Key
// a held request serves has its lease renewed, so no retry takes the request over from a
// live gateway.
import type { Executor } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { heldRequests } from '../metrics.ts';
import { renewIdempotencyLeases } from '../store/idempotency-keys.ts';
import { touchRequests } from '../store/requests/sweep.ts';

/** Touches per sweep threshold: a held row is at most a quarter of it old, under any jitter. */
const TOUCHES_PER_THRESHOLD = 4;
/** Renewals per lease: one lost renewal still leaves the lease alive. */
const RENEWALS_PER_LEASE = 3;

type IdempotencyRef = { apiKeyId: string; key: string };

export class HeldRequests {
  readonly #held = new Map<string, IdempotencyRef | undefined>();
  readonly #timers: NodeJS.Timeout[] = [];

  hold(requestId: string, idempotency?: IdempotencyRef): void {
    this.#held.set(requestId, idempotency);
    heldRequests.set(this.#held.size);
  }

  release(requestId: string): void {
    this.#held.delete(requestId);
    heldRequests.set(this.#held.size);
  }

  get size(): number {
    return this.#held.size;
  }

  /** Touches every held row now (also the timer's work). */
  async touch(db: Executor): Promise<void> {
    await touchRequests(db, [...this.#held.keys()]);
  }

  /** Renews the lease of every Idempotency-Key a held request serves. */
  async renew(db: Executor, leaseMs: number): Promise<void> {
    const keys = [...this.#held.values()].filter((k) => k !== undefined);
    await renewIdempotencyLeases(db, keys, leaseMs);
  }

  start(db: Executor, opts: { staleAfterMs: number; leaseMs: number; log: Logger }): void {
    const every = (ms: number, what: string, work: () => Promise<void>) => {
      const timer = setInterval(() => {
        work().catch((err: unknown) => opts.log.warn({ err, held: this.#held.size }, `could not ${what}`));
      }, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(opts.staleAfterMs / TOUCHES_PER_THRESHOLD, 'touch held requests', () => this.touch(db));
    every(opts.leaseMs / RENEWALS_PER_LEASE, 'renew idempotency leases', () => this.renew(db, opts.leaseMs));
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
  }
}
