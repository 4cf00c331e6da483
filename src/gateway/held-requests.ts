// The realtime requests this gateway holds: from the moment it records one until its
// completion record is stored (the upstream call, a long stream, a completion still being
// retried). Their rows are touched a few times per sweep threshold, so the sweeper never
// takes a request a live gateway still holds for a lost one (DESIGN 13).
import type { Executor } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { heldRequests } from '../metrics.ts';
import { touchRequests } from '../store/requests/sweep.ts';

/** Touches per sweep threshold: a held row is at most a quarter of it old, under any jitter. */
const TOUCHES_PER_THRESHOLD = 4;

export class HeldRequests {
  readonly #ids = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  hold(requestId: string): void {
    this.#ids.add(requestId);
    heldRequests.set(this.#ids.size);
  }

  release(requestId: string): void {
    this.#ids.delete(requestId);
    heldRequests.set(this.#ids.size);
  }

  get size(): number {
    return this.#ids.size;
  }

  /** Touches every held row now (also the timer's work). */
  async touch(db: Executor): Promise<void> {
    await touchRequests(db, [...this.#ids]);
  }

  start(db: Executor, staleAfterMs: number, log: Logger): void {
    this.#timer = setInterval(() => {
      this.touch(db).catch((err: unknown) => log.warn({ err, held: this.#ids.size }, 'could not touch held requests'));
    }, staleAfterMs / TOUCHES_PER_THRESHOLD);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
