/**
 * A budget of bytes a process may hold for requests in flight (bodies, captured answers,
 * completion records waiting to be stored). Admission takes from it and is refused when it
 * is spent, which is how a bound turns into backpressure (a 503 the client retries) instead
 * of growth; what is already admitted may go over it (an answer is as big as it is).
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit in what is left; false (and nothing taken) if not. */
  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Takes `bytes` whether or not they fit: for what was admitted and has grown. */
  take(bytes: number): void {
    this.#used += bytes;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
