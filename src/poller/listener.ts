import pg from 'pg';
import type { Logger } from '../logger.ts';

type Handler = (payload: string) => void;

/**
 * The process's one LISTEN connection. Components subscribe to channels (the poller to
 * terminal transitions, the request processor to cancellations); the connection is
 * re-established after a loss, and `onReconnect` handlers run so each component can catch
 * up on what it may have missed meanwhile.
 */
export class Listener {
  readonly #url: string;
  readonly #logger: Logger;
  readonly #reconnectDelayMs: number;
  readonly #handlers = new Map<string, Set<Handler>>();
  readonly #reconnectHandlers = new Set<() => void>();
  #client: pg.Client | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #starting: Promise<void> | undefined;

  constructor(opts: { url: string; logger: Logger; reconnectDelayMs?: number }) {
    this.#url = opts.url;
    this.#logger = opts.logger.child({ component: 'listener' });
    this.#reconnectDelayMs = opts.reconnectDelayMs ?? 1_000;
  }

  /** Connects (once; later calls share the first). */
  start(): Promise<void> {
    this.#starting ??= this.#connect();
    return this.#starting;
  }

  /** Subscribes to a channel; returns the unsubscribe function. */
  async subscribe(channel: string, handler: Handler): Promise<() => void> {
    let set = this.#handlers.get(channel);
    if (!set) {
      this.#handlers.set(channel, (set = new Set()));
      await this.#client?.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Runs `handler` after every reconnection (to catch up on what was missed); returns the off switch. */
  onReconnect(handler: () => void): () => void {
    this.#reconnectHandlers.add(handler);
    return () => this.#reconnectHandlers.delete(handler);
  }

  /** For tests: drop the connection as a network fault would. */
  simulateConnectionLoss(): void {
    this.#client?.emit('error', new Error('simulated connection loss'));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, application_name: 'volley-listener' });
    client.on('notification', (msg) => {
      const set = this.#handlers.get(msg.channel);
      if (!set || msg.payload === undefined) return;
      for (const handler of set) handler(msg.payload);
    });
    const lost = (err?: unknown) => {
      if (this.#client !== client || this.#stopped) return;
      this.#logger.warn({ err }, 'LISTEN connection lost; reconnecting');
      this.#client = undefined;
      client.end().catch(() => {});
      this.#reconnectTimer = setTimeout(() => this.#reconnect(), this.#reconnectDelayMs);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      // A connection that came up but could not LISTEN is of no use: close it, the caller retries.
      client.end().catch(() => {});
      throw err;
    }
    this.#client = client;
  }

  async #reconnect(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#connect();
      for (const handler of this.#reconnectHandlers) handler();
    } catch (err) {
      this.#logger.warn({ err }, 'LISTEN reconnect failed');
      this.#reconnectTimer = setTimeout(() => this.#reconnect(), this.#reconnectDelayMs);
    }
  }
}
