// Client retries as the official SDK makes them: `openai` with maxRetries 2 and one
// Idempotency-Key per logical request (`idem-<nonce>`), so every HTTP attempt of one
// logical request carries the same key and the same body. A counting fetch records the
// attempts (their statuses, 0 for a connection error) by key.
import { APIError, OpenAI } from 'openai';
import type { ClientRecord, SdkKind } from './client.ts';
import { describe, promptFor } from './client.ts';
import { answerText, newNonce } from './text.ts';

export interface SdkLoadOptions {
  gatewayUrl: string;
  apiKey: string;
  model: string;
  rps: number;
  concurrency: number;
  timeoutMs: number;
  pollDeadlineMs: number;
  pollIntervalMs: number;
}

export interface SdkLoad {
  stop(): Promise<ClientRecord[]>;
}

const KINDS: readonly SdkKind[] = ['sdk-chat', 'sdk-chat', 'sdk-responses', 'sdk-responses', 'sdk-background'];
const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'incomplete']);

/** Starts the SDK load at once; `stop` ends it and returns one record per logical request. */
export function startSdkLoad(opts: SdkLoadOptions): SdkLoad {
  const attempts = new Map<string, number[]>();
  const countingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const key = new Headers(init?.headers).get('idempotency-key');
    const list = key === null ? undefined : (attempts.get(key) ?? []);
    if (key !== null && list !== undefined) attempts.set(key, list);
    try {
      const res = await fetch(input, init);
      list?.push(res.status);
      return res;
    } catch (err) {
      list?.push(0);
      throw err;
    }
  };
  const client = new OpenAI({
    apiKey: opts.apiKey,
    baseURL: `${opts.gatewayUrl}/v1`,
    maxRetries: 2,
    timeout: opts.timeoutMs,
    fetch: countingFetch as typeof fetch,
  });

  const records: ClientRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let n = 0;

  const one = async (kind: SdkKind): Promise<ClientRecord> => {
    const nonce = newNonce();
    const idempotencyKey = `idem-${nonce}`;
    const rec: ClientRecord = { kind, nonce, startedAt: Date.now(), answeredAt: 0, endedAt: 0, status: 0, complete: false, responseId: undefined, idempotencyKey };
    const input = promptFor(nonce);
    // The SDK's `idempotencyKey` option sends nothing on the OpenAI client (it defines no
    // idempotency header), so the header is set here; the SDK resends the same options, and
    // so the same key, on every retry.
    const options = { headers: { 'Idempotency-Key': idempotencyKey } };
    try {
      if (kind === 'sdk-chat') {
        const { data, response } = await client.chat.completions
          .create({ model: opts.model, messages: [{ role: 'user', content: input }] }, options)
          .withResponse();
        fill(rec, response, answerText(data));
      } else {
        const background = kind === 'sdk-background';
        const { data, response } = await client.responses
          .create({ model: opts.model, input, ...(background ? { background: true } : {}) }, options)
          .withResponse();
        fill(rec, response, background ? undefined : answerText(data));
        rec.bodyId = data.id;
        rec.finalStatus = data.status ?? '';
        rec.answeredAt = Date.now();
        if (background) await pollSdk(client, opts, rec, data.id);
      }
    } catch (err) {
      rec.status = err instanceof APIError && typeof err.status === 'number' ? err.status : 0;
      rec.error = err instanceof APIError ? (err.status === undefined ? describe(err.cause ?? err) : err.constructor.name) : describe(err);
    }
    if (rec.answeredAt === 0) rec.answeredAt = Date.now();
    rec.endedAt = Date.now();
    rec.attempts = attempts.get(idempotencyKey) ?? [];
    attempts.delete(idempotencyKey);
    return rec;
  };

  const start = performance.now();
  let due = 0;
  const timer = setInterval(() => {
    if (stopped) return;
    const target = Math.floor(((performance.now() - start) * opts.rps) / 1000);
    for (; due < target; due++) {
      if (inFlight.size >= opts.concurrency) continue;
      const p = one(KINDS[n++ % KINDS.length]!).then((rec) => void records.push(rec));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  }, 10);

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      return records;
    },
  };
}

function fill(rec: ClientRecord, response: Response, text: string | undefined): void {
  rec.status = response.status;
  rec.complete = true;
  rec.responseId = response.headers.get('x-volley-response-id') ?? undefined;
  if (text !== undefined) rec.text = text;
}

async function pollSdk(client: OpenAI, opts: SdkLoadOptions, rec: ClientRecord, id: string): Promise<void> {
  const deadline = Date.now() + opts.pollDeadlineMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, opts.pollIntervalMs));
    try {
      const object = await client.responses.retrieve(id);
      rec.finalStatus = object.status ?? '';
      if (TERMINAL.has(rec.finalStatus)) {
        const text = answerText(object);
        if (text !== undefined) rec.text = text;
        return;
      }
    } catch {
      // Retrieval failed after the SDK's own retries: try again until the deadline.
    }
  }
}
