/**
 * What an endpoint of the development upstream answers, before any I/O: the server turns
 * it into an HTTP response and applies the latency and chunk-delay controls.
 */

export type Json = Record<string, unknown>;

export type Answer =
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'error'; status: number; message: string; param: string | null; code: string | null }
  /**
   * A server-sent-events stream. Each chunk is one or more encoded SSE frames written in
   * one go; the chunk delay is applied between chunks, never inside one.
   */
  | { kind: 'sse'; chunks: string[] };

/** Mints ids such as `chatcmpl-…`, `resp_…`, `msg_…`. */
export type MintId = (prefix: string) => string;

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A 400 answer in the OpenAI envelope, naming the offending parameter. */
export function badRequest(message: string, param: string | null, code: string | null = null): Answer {
  return { kind: 'error', status: 400, message, param, code };
}
