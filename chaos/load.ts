// The steady mixed load: an open loop at a fixed rate, each request of a kind drawn from
// the mix, with bounded concurrency (a request due while the bound is reached is skipped
// and counted, not queued: queueing would turn an outage into a burst afterwards).
import { Pool } from 'undici';
import { LOAD_KINDS, sendOne, type ClientOptions, type ClientRecord, type LoadKind } from './client.ts';

export type Mix = Readonly<Record<LoadKind, number>>;

export const DEFAULT_MIX: Mix = {
  chat: 25,
  'chat-stream': 20,
  responses: 20,
  'responses-stream': 5,
  background: 15,
  'flex-background': 7,
  'flex-blocking': 8,
};

/** `kind=weight,kind=weight`; kinds left out get 0. Throws on an unknown kind. */
export function parseMix(text: string): Mix {
  const mix: Record<LoadKind, number> = Object.fromEntries(LOAD_KINDS.map((k) => [k, 0])) as Record<LoadKind, number>;
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [kind, weight] = part.split('=');
    if (!(LOAD_KINDS as readonly string[]).includes(kind ?? '') || !(Number(weight) >= 0)) {
      throw new Error(`CHAOS_MIX: '${part}' is not kind=weight (kinds: ${LOAD_KINDS.join(', ')})`);
    }
    mix[kind as LoadKind] = Number(weight);
  }
  return mix;
}

/** The first answer of a request, for live recovery detection. */
export interface Answer {
  startedAt: number;
  answeredAt: number;
  ok: boolean;
}

export interface LoadOptions extends Omit<ClientOptions, 'pool'> {
  gatewayUrl: string;
  rps: number;
  concurrency: number;
  mix: Mix;
}

export interface Load {
  readonly sent: number;
  readonly skipped: number;
  /** First answers so far, in the order they came in. */
  readonly answers: readonly Answer[];
  /** One request outside the schedule (not subject to the bound). */
  fire(kind: LoadKind, tag?: string): Promise<ClientRecord>;
  /** Stops sending and waits for every request in flight (their own timeouts bound this). */
  stop(): Promise<ClientRecord[]>;
}

/** A 2xx answer with a complete body or stream: what counts as "answered". */
export function isOk(rec: Pick<ClientRecord, 'status' | 'complete'>): boolean {
  return rec.status >= 200 && rec.status < 300 && rec.complete;
}

/** Starts the open loop at once; `stop` ends it. */
export function startLoad(opts: LoadOptions): Load {
  const pool = new Pool(opts.gatewayUrl, {
    connections: opts.concurrency,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: 5_000 },
  });
  const client: ClientOptions = { ...opts, pool };
  const records: ClientRecord[] = [];
  const answers: Answer[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let skipped = 0;
  let stopped = false;

  const total = LOAD_KINDS.reduce((s, k) => s + opts.mix[k], 0);
  if (total <= 0) throw new Error('the load mix has no weight');
  const pick = (): LoadKind => {
    let r = Math.random() * total;
    for (const k of LOAD_KINDS) {
      r -= opts.mix[k];
      if (r < 0) return k;
    }
    return 'chat';
  };
  const onAnswer = (rec: ClientRecord): void => {
    answers.push({ startedAt: rec.startedAt, answeredAt: rec.answeredAt, ok: isOk(rec) });
  };
  const launch = (kind: LoadKind, tag?: string): Promise<ClientRecord> => {
    sent++;
    const p = sendOne(client, kind, onAnswer, tag);
    const tracked = p.then((rec) => void records.push(rec));
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    return p;
  };

  // Open loop: request i is due at start + i / rps, from a 5 ms timer.
  const start = performance.now();
  let due = 0;
  const timer = setInterval(() => {
    if (stopped) return;
    const target = Math.floor(((performance.now() - start) * opts.rps) / 1000);
    for (; due < target; due++) {
      if (inFlight.size >= opts.concurrency) skipped++;
      else launch(pick());
    }
  }, 5);

  return {
    get sent() {
      return sent;
    },
    get skipped() {
      return skipped;
    },
    answers,
    fire: (kind, tag) => launch(kind, tag),
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      await pool.close().catch(() => {});
      return records;
    },
  };
}
