// One request of the load, as a client sees it: sent with undici over keep-alive
// connections, its answer read whole (or as a stream), and for background work the response
// polled until it is terminal. Nothing is thrown: every outcome is a ClientRecord.
import type { Pool } from 'undici';
import { SseReader, streamAccumulator } from './sse.ts';
import { answerText, isRecord, newNonce, parseLenientJson } from './text.ts';

export const LOAD_KINDS = [
  'chat',
  'chat-stream',
  'responses',
  'responses-stream',
  'background',
  'flex-background',
  'flex-blocking',
] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];
export type SdkKind = 'sdk-chat' | 'sdk-responses' | 'sdk-background';
export type Kind = LoadKind | SdkKind;

/** Kinds answered at once with 202 and a response id, then polled. */
export const ACCEPTED_KINDS: ReadonlySet<Kind> = new Set(['background', 'flex-background', 'sdk-background']);
/** Kinds run by the request processor (flex role), not relayed by the gateway. */
export const PROCESSOR_KINDS: ReadonlySet<Kind> = new Set(['background', 'flex-background', 'flex-blocking', 'sdk-background']);

export interface ClientRecord {
  kind: Kind;
  nonce: string;
  /** Epoch ms. */
  startedAt: number;
  /** When the first answer (headers and whole body, or the 202) was in. */
  answeredAt: number;
  endedAt: number;
  /** HTTP status of the (first) answer; 0 when there was none. */
  status: number;
  /** Body read whole and parsed / stream ended with its terminal event. */
  complete: boolean;
  /** `x-volley-response-id`. */
  responseId: string | undefined;
  /** The `id` in the body (Responses), to check it is volley's. */
  bodyId?: string;
  /** The answer text the client got (for background: the polled final object's). */
  text?: string;
  /** Background: the status of the last polled object (`completed`, `failed`, …). */
  finalStatus?: string;
  /** Error code or message when there was no usable answer. */
  error?: string;
  /** Requests fired as a batch by a fault (kill-web-after-answer). */
  tag?: string;
  /** SDK requests: the Idempotency-Key and the HTTP attempts the SDK made. */
  idempotencyKey?: string;
  attempts?: number[];
}

export interface ClientOptions {
  pool: Pool;
  apiKey: string;
  model: string;
  timeoutMs: number;
  /** flex-blocking waits for the processor: a longer timeout. */
  flexTimeoutMs: number;
  /** How long a background response is polled for. */
  pollDeadlineMs: number;
  pollIntervalMs: number;
}

/** The prompt of a logical request: its nonce, echoed back by the chaos upstream. */
export function promptFor(nonce: string): string {
  return `Please repeat ${nonce} exactly.`;
}

/** The path and JSON body of one request of `kind`, its prompt carrying `nonce`. */
export function requestBody(kind: LoadKind, model: string, nonce: string): { path: string; body: Record<string, unknown> } {
  const prompt = promptFor(nonce);
  const chat = { model, messages: [{ role: 'user', content: prompt }] };
  switch (kind) {
    case 'chat':
      return { path: '/v1/chat/completions', body: chat };
    case 'chat-stream':
      return { path: '/v1/chat/completions', body: { ...chat, stream: true, stream_options: { include_usage: true } } };
    case 'responses':
      return { path: '/v1/responses', body: { model, input: prompt } };
    case 'responses-stream':
      return { path: '/v1/responses', body: { model, input: prompt, stream: true } };
    case 'background':
      return { path: '/v1/responses', body: { model, input: prompt, background: true } };
    case 'flex-background':
      return { path: '/v1/responses', body: { model, input: prompt, background: true, service_tier: 'flex' } };
    case 'flex-blocking':
      return { path: '/v1/responses', body: { model, input: prompt, service_tier: 'flex' } };
  }
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'incomplete']);

/** Sends one request of `kind`; `onAnswer` fires when its first answer is in. */
export async function sendOne(
  opts: ClientOptions,
  kind: LoadKind,
  onAnswer?: (rec: ClientRecord) => void,
  tag?: string,
): Promise<ClientRecord> {
  const nonce = newNonce();
  const { path, body } = requestBody(kind, opts.model, nonce);
  const rec: ClientRecord = { kind, nonce, startedAt: Date.now(), answeredAt: 0, endedAt: 0, status: 0, complete: false, responseId: undefined };
  if (tag !== undefined) rec.tag = tag;
  const timeoutMs = kind === 'flex-blocking' ? opts.flexTimeoutMs : opts.timeoutMs;
  try {
    const res = await opts.pool.request({
      method: 'POST',
      path,
      headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    rec.status = res.statusCode;
    const id = res.headers['x-volley-response-id'];
    rec.responseId = typeof id === 'string' ? id : undefined;
    const contentType = String(res.headers['content-type'] ?? '');
    if (contentType.includes('text/event-stream')) {
      const acc = streamAccumulator(kind === 'chat-stream' ? 'chat' : 'responses');
      const reader = new SseReader();
      res.body.setEncoding('utf8');
      try {
        for await (const chunk of res.body as AsyncIterable<string>) for (const data of reader.push(chunk)) acc.data(data);
      } catch (err) {
        rec.error = describe(err);
      }
      const out = acc.result();
      rec.text = out.text;
      rec.complete = out.complete;
      if (out.bodyId !== undefined) rec.bodyId = out.bodyId;
    } else {
      const parsed = parseLenientJson(await res.body.text());
      rec.complete = parsed !== undefined;
      if (rec.status < 300) {
        const text = answerText(parsed);
        if (text !== undefined) rec.text = text;
        if (isRecord(parsed) && typeof parsed['id'] === 'string') rec.bodyId = parsed['id'];
        if (isRecord(parsed) && typeof parsed['status'] === 'string') rec.finalStatus = parsed['status'];
      }
    }
  } catch (err) {
    rec.error = describe(err);
  }
  rec.answeredAt = Date.now();
  onAnswer?.(rec);
  if (rec.status === 202 && rec.responseId !== undefined) await poll(opts, rec, rec.responseId);
  rec.endedAt = Date.now();
  return rec;
}

/** Polls GET /v1/responses/{id} until the object is terminal or the deadline passes. */
async function poll(opts: ClientOptions, rec: ClientRecord, id: string): Promise<void> {
  const deadline = Date.now() + opts.pollDeadlineMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, opts.pollIntervalMs));
    try {
      const res = await opts.pool.request({
        method: 'GET',
        path: `/v1/responses/${id}`,
        headers: { authorization: `Bearer ${opts.apiKey}` },
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const parsed = parseLenientJson(await res.body.text());
      if (res.statusCode !== 200 || !isRecord(parsed) || typeof parsed['status'] !== 'string') continue;
      rec.finalStatus = parsed['status'];
      if (TERMINAL.has(parsed['status'])) {
        const text = answerText(parsed);
        if (text !== undefined) rec.text = text;
        return;
      }
    } catch {
      // The gateway is down or slow: keep polling until the deadline, as a client would.
    }
  }
}

/** A short error label for the status histogram (`ECONNREFUSED`, `UND_ERR_SOCKET`, …). */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timeout';
  const causeCode = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof causeCode === 'string' ? causeCode : err.name;
}
