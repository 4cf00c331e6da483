import { Agent, request } from 'undici';
import { isRecord, parseJson } from '../responses/json.ts';
import { REQUEST_MARKER_HEADER, requestMarkerKey, signRequestMarker } from './request-marker.ts';
import { parseRetryAfter } from './retry-policy.ts';

/**
 * The request processor's HTTP client to model servers. One pooled undici Agent per process
 * (keep-alive connections reused across calls). Failures come back as values, never thrown:
 * the processor decides what each one means (DESIGN 8.1).
 */

export interface UpstreamConfig {
  /** OpenAI-style base URL including the version prefix, e.g. `http://host:8000/v1`. */
  url: string;
  apiKey?: string | undefined;
  /** Models served somewhere other than `url` (model → base URL). */
  routes?: Readonly<Record<string, string>>;
  /** The whole call (connect, headers and body) must finish within this. */
  timeoutMs: number;
  /** Signs x-volley-request-id (see request-marker.ts); unset: a key of this process. */
  markerKey?: Buffer;
}

export type UpstreamResult =
  | { kind: 'response'; status: number; body: string; retryAfterMs: number | undefined; durationMs: number }
  | { kind: 'network-error'; error: string; durationMs: number }
  | { kind: 'timeout'; error: string; durationMs: number }
  /** The caller's signal fired (cancel, shutdown, lost job claim); `reason` is the signal's. */
  | { kind: 'aborted'; reason: unknown; durationMs: number };

export interface UpstreamCall {
  model: string;
  /** The API path the client called, e.g. `/v1/chat/completions`. */
  endpoint: string;
  /** The stored request body; see forwardedBody for what is changed. */
  body: string;
  requestId: string;
  signal?: AbortSignal;
}

/** `${route or UPSTREAM_URL}` + the endpoint's path after `/v1`. */
export function upstreamUrl(config: Pick<UpstreamConfig, 'url' | 'routes'>, model: string, endpoint: string): string {
  const base = (config.routes?.[model] ?? config.url).replace(/\/+$/, '');
  const path = endpoint.startsWith('/v1/') ? endpoint.slice(3) : endpoint;
  return `${base}${path.startsWith('/') ? path : `/${path}`}`;
}

/**
 * The body sent upstream: the stored body with `stream` (and `stream_options`, which an
 * upstream rejects without `stream`) removed, so the answer is one JSON document, and with
 * `background` and `service_tier` removed, so the upstream does not queue it a second time.
 * A body that is not a JSON object is sent unchanged.
 */
export function forwardedBody(body: string): string {
  const parsed = parseJson(body);
  if (!isRecord(parsed)) return body;
  const { stream: _s, stream_options: _so, background: _b, service_tier: _t, ...rest } = parsed;
  return JSON.stringify(rest);
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
    const sent = forwardedBody(call.body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      // Marks the call as tracked, so a volley gateway upstream does not track it again.
      [REQUEST_MARKER_HEADER]: signRequestMarker(this.#markerKey, call.requestId, sent),
    };
    if (this.#config.apiKey) headers.authorization = `Bearer ${this.#config.apiKey}`;
    try {
      const res = await request(upstreamUrl(this.#config, call.model, call.endpoint), {
        method: 'POST',
        headers,
        body: sent,
        dispatcher: this.#agent,
        signal,
      });
      const body = await res.body.text();
      const retryAfter = res.headers['retry-after'];
      return {
        kind: 'response',
        status: res.statusCode,
        body,
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now()),
        durationMs: elapsed(),
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
