// Failed attempts at the admin token, counted per client address. ADMIN_TOKEN is chosen by a
// person and unlocks everything (every prompt and answer, every key), so it must not be
// guessable at the rate the gateway answers: after `max` wrong tokens within `windowMs`, an
// address is refused (429, Retry-After) until that window ends, even with the right token, or
// an attacker would simply go on guessing. A valid dashboard session is not an attempt and is
// never refused. The address is the connection's (Fastify's req.ip): behind a proxy every
// client shares the proxy's count, which locks the admin out during an attack rather than
// letting the attack through.
import { LRUCache } from 'lru-cache';

export interface AttemptLimits {
  /** Wrong tokens an address may send per window. */
  max: number;
  windowMs: number;
  /** Addresses remembered at most (the least recently seen is forgotten first). */
  addresses: number;
}

export const ADMIN_ATTEMPT_LIMITS: AttemptLimits = { max: 10, windowMs: 60_000, addresses: 10_000 };

interface Window {
  failures: number;
  /** When this window's count is forgotten (ms since the epoch). */
  endsAt: number;
}

export class FailedAttempts {
  readonly #limits: AttemptLimits;
  readonly #now: () => number;
  readonly #windows: LRUCache<string, Window>;

  constructor(limits: AttemptLimits = ADMIN_ATTEMPT_LIMITS, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
    this.#windows = new LRUCache({ max: limits.addresses });
  }

  /** Whole seconds until `address` may try again; 0 when it may now. */
  waitFor(address: string): number {
    const window = this.#current(address);
    if (window === undefined || window.failures < this.#limits.max) return 0;
    return Math.max(1, Math.ceil((window.endsAt - this.#now()) / 1000));
  }

  /** Counts one wrong token from `address`. */
  failed(address: string): void {
    const window = this.#current(address);
    if (window === undefined) this.#windows.set(address, { failures: 1, endsAt: this.#now() + this.#limits.windowMs });
    else window.failures++;
  }

  #current(address: string): Window | undefined {
    const window = this.#windows.get(address);
    if (window !== undefined && window.endsAt <= this.#now()) {
      this.#windows.delete(address);
      return undefined;
    }
    return window;
  }
}
