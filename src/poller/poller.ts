import type { Executor } from '../db/client.ts';
import { isTerminal } from '../db/schema/requests.ts';
import { TooManyWaiters, WaitTimeout } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { toResponseObject, type ResponseObject } from '../responses/response-object.ts';
import { findRequestDetails } from '../store/requests/find.ts';
import { TERMINAL_CHANNEL } from '../db/channels.ts';
import type { Listener } from './listener.ts';

interface Waiter {
  resolve(value: ResponseObject): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

export interface PollerOptions {
  /** The process's LISTEN connection (shared with other subscribers). */
  listener: Listener;
  /** Pool-backed executor for the row reads (shared with the rest of the process). */
  db: Executor;
  logger: Logger;
  /** Backstop: how often waiting ids are re-read in case a NOTIFY was missed. */
  pollIntervalMs?: number;
  /** Waits held at most; more are refused with TooManyWaiters (memory is bounded, DESIGN 13). */
  maxWaiters?: number;
}

/** Waits this process holds at most by default: each is a promise, a timer and an entry. */
export const MAX_WAITERS = 10_000;

/**
 * Waits for requests to become terminal. The process's one LISTEN connection fans the
 * NOTIFY that terminal transitions send (in their own transaction, so the row is visible
 * when the id arrives) out to any number of waiters. Reads are batched: every id that
 * arrives in the same tick, and every waiting id at each backstop poll, is read with one
 * query. The reference polled each request every 500 ms; here a waiter wakes within a
 * round trip of the commit, and the poll only covers notifications lost with a connection.
 */
export class Poller {
  readonly #opts: Required<PollerOptions>;
  readonly #waiters = new Map<string, Set<Waiter>>();
  #unsubscribe: (() => void) | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #toCheck = new Set<string>();
  #checkScheduled = false;
  #stopped = false;

  constructor(opts: PollerOptions) {
    this.#opts = { pollIntervalMs: 1_000, maxWaiters: MAX_WAITERS, ...opts };
  }

  async start(): Promise<void> {
    const { listener } = this.#opts;
    await listener.start();
    this.#unsubscribe = await listener.subscribe(TERMINAL_CHANNEL, (payload) => {
      for (const id of payload.split(',')) if (this.#waiters.has(id)) this.#schedule(id);
    });
    // Anything that turned terminal while the connection was down.
    listener.onReconnect(() => this.#check([...this.#waiters.keys()]));
    this.#pollTimer = setInterval(() => this.#check([...this.#waiters.keys()]), this.#opts.pollIntervalMs);
    this.#pollTimer.unref();
  }

  /** How many waits are in progress (a metrics gauge). */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  /**
   * Resolves with the response object once the request is terminal; rejects with
   * WaitTimeout after `timeoutMs` (the request itself goes on), with the signal's reason when
   * `signal` aborts first (the client went away: its wait is dropped at once), and with
   * TooManyWaiters when this process already holds its maximum.
   */
  waitForTerminal(requestId: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<ResponseObject> {
    if (this.waiting >= this.#opts.maxWaiters) return Promise.reject(new TooManyWaiters(this.#opts.maxWaiters));
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(waiter.timer);
        this.#remove(requestId, waiter);
        reject(opts.signal!.reason);
      };
      const settle = <T>(fn: (v: T) => void) => (v: T) => {
        opts.signal?.removeEventListener('abort', onAbort);
        fn(v);
      };
      const waiter: Waiter = {
        resolve: settle(resolve),
        reject: settle(reject),
        timer: setTimeout(() => {
          this.#remove(requestId, waiter);
          waiter.reject(new WaitTimeout(requestId, opts.timeoutMs));
        }, opts.timeoutMs),
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.#waiters.get(requestId);
      if (!set) this.#waiters.set(requestId, (set = new Set()));
      set.add(waiter);
      // Registered before the first read, so a commit between the two is never missed:
      // either the read sees it or its NOTIFY finds this waiter.
      this.#schedule(requestId);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#pollTimer);
    this.#unsubscribe?.();
    for (const [id, set] of this.#waiters) {
      for (const w of set) {
        clearTimeout(w.timer);
        w.reject(new WaitTimeout(id, 0));
      }
    }
    this.#waiters.clear();
  }

  #schedule(id: string): void {
    this.#toCheck.add(id);
    if (this.#checkScheduled) return;
    this.#checkScheduled = true;
    setImmediate(() => {
      this.#checkScheduled = false;
      const ids = [...this.#toCheck];
      this.#toCheck.clear();
      this.#check(ids);
    });
  }

  #check(ids: string[]): void {
    if (ids.length === 0 || this.#stopped) return;
    findRequestDetails(this.#opts.db, ids).then(
      (rows) => {
        for (const row of rows) {
          if (!isTerminal(row.state)) continue;
          const set = this.#waiters.get(row.id);
          if (!set) continue;
          this.#waiters.delete(row.id);
          const object = toResponseObject(row);
          for (const w of set) {
            clearTimeout(w.timer);
            w.resolve(object);
          }
        }
      },
      (err: unknown) => this.#opts.logger.warn({ err, component: 'poller' }, 'poller read failed; the next poll retries'),
    );
  }

  #remove(id: string, waiter: Waiter): void {
    const set = this.#waiters.get(id);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.#waiters.delete(id);
  }
}
