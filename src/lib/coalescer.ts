/**
 * Groups concurrent calls into batches without adding latency: an item added while no flush
 * is running is flushed at once (after the current tick, so items added in the same tick
 * share it); items added while flushes are in flight wait for a slot and go together. Under
 * light load every call is its own flush; under heavy load flushes grow to `maxBatch`.
 *
 * `lingerMs` trades latency for fewer, bigger flushes: the first item of a batch waits that
 * long for company (a full batch goes at once). For writes nobody waits on.
 */
export class Coalescer<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #lingerMs: number;
  #lingerTimer: NodeJS.Timeout | undefined;
  #pending: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #inFlight = 0;
  #scheduled = false;
  /** Set when a linger ran out while every flush slot was busy: the next free slot takes them. */
  #due = false;
  /** Set by drain() until everything is flushed: nothing lingers meanwhile. */
  #draining = false;
  #idle: (() => void)[] = [];

  constructor(
    flush: (items: T[]) => Promise<void>,
    opts: { maxBatch?: number; maxInFlight?: number; lingerMs?: number } = {},
  ) {
    this.#flush = flush;
    this.#maxBatch = opts.maxBatch ?? 500;
    this.#maxInFlight = opts.maxInFlight ?? 2;
    this.#lingerMs = opts.lingerMs ?? 0;
  }

  /** Resolves when the flush that carried `item` succeeded; rejects with its error. */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#lingering()) {
        this.#armLinger();
        return;
      }
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  get size(): number {
    return this.#pending.length + this.#inFlight;
  }

  /** Flushes what is waiting now (no more lingering) and resolves once it is done. */
  drain(): Promise<void> {
    if (this.#pending.length === 0 && this.#inFlight === 0) return Promise.resolve();
    this.#draining = true;
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    this.#pump();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Whether waiting items should wait for company rather than go now. */
  #lingering(): boolean {
    return this.#lingerMs > 0 && !this.#draining && this.#pending.length < this.#maxBatch;
  }

  #armLinger(): void {
    this.#lingerTimer ??= setTimeout(() => {
      this.#lingerTimer = undefined;
      this.#due = true;
      this.#pump();
    }, this.#lingerMs);
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxBatch);
      this.#inFlight++;
      this.#flush(batch.map((b) => b.item)).then(
        () => batch.forEach((b) => b.resolve()),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      ).finally(() => {
        this.#inFlight--;
        // Items that arrived during the flush linger like any others (flushing them at once
        // would cut every batch after the first short).
        if (this.#pending.length > 0 && this.#lingering() && !this.#due) this.#armLinger();
        else this.#pump();
        if (this.#pending.length === 0 && this.#inFlight === 0) {
          this.#draining = false;
          this.#idle.splice(0).forEach((f) => f());
        }
      });
    }
    if (this.#pending.length === 0) this.#due = false;
  }
}
