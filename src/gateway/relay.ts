// Relays one request to the upstream and its answer back to the client, capturing a copy.
// Streams (text/event-stream) go through chunk by chunk as they arrive; a JSON answer is
// sent whole (the client cannot use half a JSON body, and on /v1/responses its id must be
// replaced first). The reply is written on the raw Node response (Fastify's hijack), so no
// serialisation or hook runs between the upstream's bytes and the client's socket.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { errors as undiciErrors } from 'undici';
import { recordWaits, upstreamDuration } from '../metrics.ts';
import { MAX_CAPTURE_BYTES, createStreamTap, rewriteResponseBodyId, type StreamKind } from '../responses/stream-capture.ts';
import type { UpstreamProxy } from '../upstream/proxy.ts';
import type { CreateEndpoint } from './create-request.ts';
import { envelope, trackingUnavailable } from './http-errors.ts';

export const RESPONSE_ID_HEADER = 'x-volley-response-id';

/** nginx's "client closed request": what the row records when the client left first. */
export const CLIENT_CLOSED_STATUS = 499;

export interface RelayOptions {
  upstream: UpstreamProxy;
  reply: FastifyReply;
  endpoint: CreateEndpoint;
  model: string;
  body: Buffer;
  /** Set for tracked requests: the `resp_<uuid>` id (header, and body ids on /v1/responses). */
  responseId?: string;
  /** Sent upstream as x-volley-request-id. */
  requestId?: string;
  /**
   * Settles when the request is recorded (DURABILITY=fast writes it during the call). Nothing
   * reaches the client before it resolves; if it rejects, the upstream call is aborted and
   * the client gets 503 tracking_unavailable.
   */
  recorded?: Promise<void>;
  /**
   * Runs once the upstream finished and the answer is known, before its final bytes go out
   * (the whole body of a JSON answer; a stream's terminal events): the caller stores the
   * answer there, so a client never holds a complete answer that is not stored (DURABILITY=
   * strict; read-your-writes on /v1/responses). If it fails, the connection is cut instead.
   */
  beforeEnd?: (result: RelayResult) => Promise<void>;
  /** A non-streamed answer is held whole; larger than this, it is refused (default MAX_CAPTURE_BYTES). */
  maxAnswerBytes?: number;
}

export interface RelayResult {
  /** The status the client got (or CLIENT_CLOSED_STATUS). */
  status: number;
  /** The body to store: the final JSON (rebuilt for streams); '' for untracked requests. */
  body: string;
  /** Set when `recorded` rejected: the client got 503 and nothing of the upstream's answer. */
  notRecorded?: unknown;
  /** Set when `beforeEnd` failed: the connection was cut before the answer's final bytes. */
  notStored?: true;
}

// Hop-by-hop headers and those the relay sets itself.
const SKIPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'date',
  'server',
]);

export async function relay(opts: RelayOptions): Promise<RelayResult> {
  const { reply, responseId } = opts;
  const res = reply.raw;
  reply.hijack();
  const capture = responseId !== undefined;
  const abort = new AbortController();
  // 'close' after the response finished is normal; before, the client went away.
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  // A record that fails cuts the upstream call off at once, even before its headers arrive.
  let notRecorded: unknown;
  const recorded = opts.recorded?.catch((err: unknown) => {
    notRecorded = err ?? new Error('not recorded');
    abort.abort();
  });
  const refuse = (err: unknown): RelayResult => {
    abort.abort();
    // complete-response records this 503 under the response id, once the database takes it.
    const refused = trackingUnavailable();
    return { ...sendError(res, refused.status, JSON.stringify(refused.envelope), responseId), notRecorded: err };
  };
  try {
    const started = performance.now();
    let upstream;
    try {
      upstream = await opts.upstream.send({
        model: opts.model,
        path: opts.endpoint.slice('/v1'.length),
        body: opts.body,
        signal: abort.signal,
        ...(opts.requestId ? { volleyRequestId: opts.requestId } : {}),
      });
    } catch (err) {
      await held(recorded);
      if (notRecorded !== undefined) return refuse(notRecorded);
      if (abort.signal.aborted) return clientClosed();
      return sendFailure(res, err, responseId, opts.beforeEnd);
    }
    await held(recorded);
    if (notRecorded !== undefined) {
      upstream.body.destroy();
      return refuse(notRecorded);
    }
    const status = upstream.statusCode;
    upstreamDuration.observe({ endpoint: opts.endpoint, status }, (performance.now() - started) / 1000);
    const headers = clientHeaders(upstream.headers, responseId);
    const contentType = upstream.headers['content-type'];
    const streaming = typeof contentType === 'string' && contentType.includes('text/event-stream');

    if (!streaming) {
      const answer = await readAnswer(upstream.body, opts.maxAnswerBytes ?? MAX_CAPTURE_BYTES);
      if (answer.kind === 'failed') {
        if (abort.signal.aborted) return clientClosed();
        return sendFailure(res, answer.error, responseId, opts.beforeEnd);
      }
      if (answer.kind === 'too-large') {
        const { status: s, body } = answerTooLarge(opts.maxAnswerBytes ?? MAX_CAPTURE_BYTES);
        return answerError(res, s, JSON.stringify(body), responseId, opts.beforeEnd);
      }
      let buf = answer.bytes;
      let text: string | undefined;
      if (capture && opts.endpoint === '/v1/responses' && status < 300) {
        text = buf.toString('utf8');
        const rewritten = rewriteResponseBodyId(text, responseId);
        if (rewritten !== undefined) {
          text = rewritten;
          buf = Buffer.from(rewritten, 'utf8');
        }
      }
      const result: RelayResult = { status, body: capture ? (text ?? buf.toString('utf8')) : '' };
      // With a beforeEnd, nothing of the answer goes out until it is stored.
      if (!(await storedFirst(opts.beforeEnd, result, res))) return { ...result, notStored: true };
      headers['content-length'] = String(buf.length);
      res.writeHead(status, headers);
      res.end(buf);
      return result;
    }

    res.writeHead(status, headers);
    // The client sees the status and headers now, before the first event.
    res.flushHeaders();
    const tap = capture
      ? createStreamTap({
          kind: streamKind(opts.endpoint),
          ...(opts.endpoint === '/v1/responses' ? { responseId } : {}),
          ...(opts.beforeEnd ? { holdTerminal: true } : {}),
        })
      : undefined;
    let rest: string | undefined;
    try {
      for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
        const out = tap ? tap.push(chunk) : chunk;
        if (out.length > 0 && !res.write(out)) await drained(res);
      }
      rest = tap?.end();
    } catch (err) {
      if (abort.signal.aborted || res.destroyed) return clientClosed();
      // The upstream failed mid-stream: the client already has a 200, so all we can do is
      // cut the connection (an SDK reports the truncated stream) and record the failure.
      res.destroy();
      return { status: 502, body: JSON.stringify(upstreamFailure(err).body) };
    }
    const result: RelayResult = { status, body: tap?.body() ?? '' };
    // The held terminal events go out once the answer is stored.
    if (!(await storedFirst(opts.beforeEnd, result, res))) return { ...result, notStored: true };
    if (rest) res.write(rest);
    res.end();
    return result;
  } finally {
    res.off('close', onClose);
  }
}

/**
 * Runs `beforeEnd` (the caller storing the answer); true when the final bytes may go out.
 * When it fails, the client gets no complete answer: the connection is cut, so it cannot
 * take what it holds for an answer that was stored.
 */
async function storedFirst(
  beforeEnd: ((result: RelayResult) => Promise<void>) | undefined,
  result: RelayResult,
  res: ServerResponse,
): Promise<boolean> {
  if (!beforeEnd) return true;
  try {
    await beforeEnd(result);
    return true;
  } catch {
    res.destroy();
    return false;
  }
}

type Answer = { kind: 'ok'; bytes: Buffer } | { kind: 'too-large' } | { kind: 'failed'; error: unknown };

/** A non-streamed answer, read whole up to `limit` bytes (it is held to be rewritten and stored). */
async function readAnswer(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<Answer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        return { kind: 'too-large' };
      }
      chunks.push(chunk);
    }
  } catch (error) {
    return { kind: 'failed', error };
  }
  return { kind: 'ok', bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) };
}

function answerTooLarge(limit: number): { status: number; body: ReturnType<typeof envelope> } {
  return {
    status: 502,
    body: envelope(502, `The upstream's answer is larger than ${limit} bytes, more than this gateway holds.`, 'upstream_answer_too_large'),
  };
}

/** Waits for the record (when there is one to wait for), counted in recordWaits. */
export async function held(recorded: Promise<void> | undefined): Promise<void> {
  if (recorded === undefined) return;
  recordWaits.inc();
  try {
    await recorded;
  } finally {
    recordWaits.dec();
  }
}

function streamKind(endpoint: CreateEndpoint): StreamKind {
  return endpoint === '/v1/responses' ? 'responses' : endpoint === '/v1/chat/completions' ? 'chat' : 'raw';
}

function clientHeaders(
  upstream: Record<string, string | string[] | undefined>,
  responseId: string | undefined,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value !== undefined && !SKIPPED_HEADERS.has(name)) headers[name] = value;
  }
  if (responseId !== undefined) headers[RESPONSE_ID_HEADER] = responseId;
  return headers;
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function clientClosed(): RelayResult {
  const body = envelope(CLIENT_CLOSED_STATUS, 'The client closed the connection before the upstream finished.', 'client_closed_request');
  return { status: CLIENT_CLOSED_STATUS, body: JSON.stringify(body) };
}

/** The status and envelope for an upstream call that produced no usable answer. */
export function upstreamFailure(err: unknown): { status: number; body: ReturnType<typeof envelope> } {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return { status: 504, body: envelope(504, 'The upstream model server did not answer in time.', 'upstream_timeout') };
  }
  const reason = err instanceof Error ? (err as Error & { code?: string }).code ?? err.name : 'unknown error';
  return {
    status: 502,
    body: envelope(502, `The upstream model server could not be reached (${reason}).`, 'upstream_unreachable'),
  };
}

function sendFailure(
  res: ServerResponse,
  err: unknown,
  responseId: string | undefined,
  beforeEnd: ((result: RelayResult) => Promise<void>) | undefined,
): Promise<RelayResult> {
  const { status, body } = upstreamFailure(err);
  return answerError(res, status, JSON.stringify(body), responseId, beforeEnd);
}

/**
 * An error envelope as the whole answer (or a cut connection, if the answer had begun); with
 * a `beforeEnd`, once it has stored it.
 */
async function answerError(
  res: ServerResponse,
  status: number,
  text: string,
  responseId: string | undefined,
  beforeEnd: ((result: RelayResult) => Promise<void>) | undefined,
): Promise<RelayResult> {
  const result: RelayResult = { status, body: text };
  if (!(await storedFirst(beforeEnd, result, res))) return { ...result, notStored: true };
  return sendError(res, status, text, responseId);
}

function sendError(res: ServerResponse, status: number, text: string, responseId: string | undefined): RelayResult {
  if (!res.headersSent && !res.destroyed) {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
    if (responseId !== undefined) headers[RESPONSE_ID_HEADER] = responseId;
    res.writeHead(status, headers);
    res.end(text);
  } else {
    res.destroy();
  }
  return { status, body: text };
}
