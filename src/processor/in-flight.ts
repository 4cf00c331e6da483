import type { Executor } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { findCanceledRequestIds } from '../store/requests/find.ts';
import { CANCEL_CHANNEL } from '../db/channels.ts';
import type { Listener } from '../poller/listener.ts';

/** The reason an in-flight call's signal carries when its request was canceled. */
export class RequestCanceled extends Error {
  readonly requestId: string;
  constructor(requestId: string) {
    super(`request ${requestId} was canceled`);
    this.name = 'RequestCanceled';
    this.requestId = requestId;
  }
}

export interface InFlightCall {
  /** Aborted (with a RequestCanceled reason) when the request is canceled. */
  signal: AbortSignal;
  release(): void;
}

/**
 * This process's upstream calls, by request id, so a cancel reaches the call in whichever
 * process holds it. `cancelRequest` NOTIFYs CANCEL_CHANNEL in the statement that cancels;
 * the process's one LISTEN connection delivers it here within a round trip. Notifications
 * lost with the connection are made up for on reconnect, and a periodic check of the
 * in-flight ids is the last backstop.
 */
export class InFlightCalls {
  readonly #calls = new Map<string, Set<AbortController>>();
  readonly #idle = new Set<() => void>();
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  get size(): number {
    let n = 0;
    for (const set of this.#calls.values()) n += set.size;
    return n;
  }

  register(requestId: string): InFlightCall {
    const controller = new AbortController();
    let set = this.#calls.get(requestId);
    if (!set) this.#calls.set(requestId, (set = new Set()));
    set.add(controller);
    return {
      signal: controller.signal,
      release: () => {
        set.delete(controller);
        if (set.size === 0 && this.#calls.get(requestId) === set) this.#calls.delete(requestId);
        if (this.#calls.size === 0) for (const resolve of this.#idle) resolve();
      },
    };
  }

  /** Aborts every call of this process for the request; true when there was one. */
  cancel(requestId: string): boolean {
    const set = this.#calls.get(requestId);
    if (!set) return false;
    for (const controller of set) controller.abort(new RequestCanceled(requestId));
    return true;
  }

  async start(opts: { listener: Listener; db: Executor; logger: Logger; checkIntervalMs?: number }): Promise<void> {
    const log = opts.logger.child({ component: 'in-flight' });
    await opts.listener.start();
    this.#unsubscribe = await opts.listener.subscribe(CANCEL_CHANNEL, (payload) => {
      for (const id of payload.split(',')) {
        if (this.cancel(id)) log.info({ requestId: id }, 'canceled request: upstream call aborted');
      }
    });
    const check = () => {
      this.#abortCanceled(opts.db).catch((err: unknown) => log.warn({ err }, 'in-flight cancel check failed'));
    };
    opts.listener.onReconnect(check);
    this.#timer = setInterval(check, opts.checkIntervalMs ?? 5_000);
    this.#timer.unref();
  }

  /** Resolves when no call is in flight, or after `timeoutMs`; true when drained. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.#calls.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.#idle.delete(onIdle);
        resolve(value);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#idle.add(onIdle);
    });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#unsubscribe?.();
  }

  async #abortCanceled(db: Executor): Promise<void> {
    const ids = [...this.#calls.keys()];
    if (ids.length === 0) return;
    for (const id of await findCanceledRequestIds(db, ids)) this.cancel(id);
  }
}
