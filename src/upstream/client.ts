import { epochNow } from '../lib/clock.ts';
import { Agent, request } from 'undici';
import type { UpstreamTarget } from './proxy.ts';
import { REQUEST_MARKER_HEADER, requestMarkerKey, signRequestMarker } from './request-marker.ts';
import { parseRetryAfter } from './retry-policy.ts';

/**
 * The request processor's HTTP client to model servers. One pooled undici Agent per process
 * (keep-alive connections reused across calls). Failures come back as values, never thrown:
 * the processor decides what each one means (DESIGN 8.1).
 */

export interface UpstreamConfig {
  /** The whole call (connect, headers and body) must finish within this. */
  timeoutMs: number;
  /** Signs x-volley-request-id (see request-marker.ts); unset: a key of this process. */
  markerKey?: Buffer;
  /** A successful answer larger than this is refused (it is held whole to be stored). */
  maxAnswerBytes?: number;
}

export type UpstreamResult =
  | {
      kind: 'response';
      status: number;
      body: string;
      retryAfterMs: number | undefined;
      durationMs: number;
      /** When the headers came (epoch ms): the answer's first byte. */
      firstByteAt?: number;
    }
  | { kind: 'network-error'; error: string; durationMs: number }
  | { kind: 'timeout'; error: string; durationMs: number }
  /** The caller's signal fired (cancel, shutdown, lost job claim); `reason` is the signal's. */
  | { kind: 'aborted'; reason: unknown; durationMs: number }
  /** The answer was larger than the client holds (memory is bounded, DESIGN 13). */
  | { kind: 'too-large'; status: number; limit: number; durationMs: number };

export interface UpstreamCall {
  /** The model's route (base URL incl. /v1, and its key). */
  target: UpstreamTarget;
  /** The path after `/v1`, e.g. `/chat/completions`. */
  path: string;
  /** What is sent (upstream/prepare.ts made it). */
  body: string | Buffer;
  requestId: string;
  signal?: AbortSignal;
}

/** `${base URL}` + the path after `/v1`. */
export function upstreamUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}

export class UpstreamClient {
  readonly #config: UpstreamConfig;
  readonly #agent: Agent;
  readonly #markerKey: Buffer;

  constructor(config: UpstreamConfig, opts: { connections?: number } = {}) {
    this.#config = config;
    this.#markerKey = config.markerKey ?? requestMarkerKey(undefined);
    this.#agent = new Agent({
      connections: opts.connections ?? 128,
      keepAliveTimeout: 30_000,
      // The call's own deadline (timeoutMs, through an AbortSignal) bounds headers and body;
      // undici's 300 s defaults would cut a legitimately slow model off first.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async call(call: UpstreamCall): Promise<UpstreamResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const deadline = AbortSignal.timeout(this.#config.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
    const sent = call.body;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      // Marks the call as tracked, so a volley gateway upstream does not track it again.
      [REQUEST_MARKER_HEADER]: signRequestMarker(this.#markerKey, call.requestId, sent),
    };
    if (call.target.apiKey) headers.authorization = `Bearer ${call.target.apiKey}`;
    try {
      const res = await request(upstreamUrl(call.target.baseUrl, call.path), {
        method: 'POST',
        headers,
        body: sent,
        dispatcher: this.#agent,
        signal,
      });
      const firstByteAt = epochNow();
      const limit = this.#config.maxAnswerBytes ?? MAX_ANSWER_BYTES;
      const body = await readLimited(res.body, limit);
      if (body === undefined) return { kind: 'too-large', status: res.statusCode, limit, durationMs: elapsed() };
      const retryAfter = res.headers['retry-after'];
      return {
        kind: 'response',
        status: res.statusCode,
        body,
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now()),
        durationMs: elapsed(),
        firstByteAt,
      };
    } catch (err) {
      // The caller's signal wins over the deadline when both fired: a cancel is not a timeout.
      if (call.signal?.aborted) return { kind: 'aborted', reason: call.signal.reason, durationMs: elapsed() };
      if (deadline.aborted) {
        return { kind: 'timeout', error: `no complete answer within ${this.#config.timeoutMs} ms`, durationMs: elapsed() };
      }
      return { kind: 'network-error', error: describe(err), durationMs: elapsed() };
    }
  }

  /** Closes the pooled connections (in-flight calls are left to finish or abort). */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** An error message with its code and cause, without anything from the request. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${typeof code === 'string' ? `${code} ` : ''}${err.message}${cause}`.slice(0, 500);
}

/** An answer held whole is at most this large (the gateway's relay holds the same). */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** The body as text, or undefined (and the rest dropped) once it passes `limit` bytes. */
async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
