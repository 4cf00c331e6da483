// Relays one request to the upstream and its answer back to the client, capturing a copy.
// Streams (text/event-stream) go through chunk by chunk as they arrive; a JSON answer is
// sent whole (the client cannot use half a JSON body, and on /v1/responses its id must be
// replaced first). The reply is written on the raw Node response (Fastify's hijack), so no
// serialisation or hook runs between the upstream's bytes and the client's socket.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { epochNow } from '../lib/clock.ts';
import { recordWaits, upstreamDuration } from '../metrics.ts';
import { completeSnapshot, completedAnswer, translatedAnswer } from '../responses/answers.ts';
import { MAX_CAPTURE_BYTES, createStreamTap, type StreamKind } from '../responses/stream-capture.ts';
import { createTranslatingTap } from '../responses/translating-tap.ts';
import type { UpstreamProxy, UpstreamTarget } from '../upstream/proxy.ts';
import type { CreateEndpoint } from './create-request.ts';
import { trackingUnavailable } from './http-errors.ts';
import {
  answerError,
  answerTooLarge,
  clientClosed,
  readAnswer,
  sendError,
  sendFailure,
  RESPONSE_ID_HEADER,
  storedFirst,
  upstreamFailure,
  type RelayResult,
  type RelayTiming,
} from './relay-answers.ts';

export { CLIENT_CLOSED_STATUS, RESPONSE_ID_HEADER, upstreamFailure, type RelayResult } from './relay-answers.ts';

export interface RelayOptions {
  upstream: UpstreamProxy;
  reply: FastifyReply;
  endpoint: CreateEndpoint;
  /** Where the call goes (the model's route) and what is sent (upstream/prepare.ts). */
  target: UpstreamTarget;
  path: string;
  body: Buffer | string;
  /**
   * For a tracked /v1/responses call: the client's request (the object's settings are
   * echoed from it), and whether the upstream speaks chat (its answer is translated).
   */
  answer?: { request: unknown; translated: boolean };
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
  const timing: RelayTiming = { upstreamStartedAt: epochNow(), firstByteAt: null, streamed: false };
  const timed = (r: RelayResult): RelayResult => ({ ...r, timing });
  try {
    const started = performance.now();
    let upstream;
    try {
      upstream = await opts.upstream.send({
        target: opts.target,
        path: opts.path,
        body: opts.body,
        signal: abort.signal,
        ...(opts.requestId ? { volleyRequestId: opts.requestId } : {}),
      });
    } catch (err) {
      await held(recorded);
      if (notRecorded !== undefined) return refuse(notRecorded);
      if (abort.signal.aborted) return timed(clientClosed());
      return timed(await sendFailure(res, err, responseId, opts.beforeEnd));
    }
    await held(recorded);
    if (notRecorded !== undefined) {
      upstream.body.destroy();
      return refuse(notRecorded);
    }
    const status = upstream.statusCode;
    timing.firstByteAt = epochNow();
    upstreamDuration.observe({ endpoint: opts.endpoint, status }, (performance.now() - started) / 1000);
    const headers = clientHeaders(upstream.headers, responseId);
    const contentType = upstream.headers['content-type'];
    const streaming = typeof contentType === 'string' && contentType.includes('text/event-stream');

    if (!streaming) {
      const answer = await readAnswer(upstream.body, opts.maxAnswerBytes ?? MAX_CAPTURE_BYTES);
      if (answer.kind === 'failed') {
        if (abort.signal.aborted) return timed(clientClosed());
        return timed(await sendFailure(res, answer.error, responseId, opts.beforeEnd));
      }
      if (answer.kind === 'too-large') {
        const { status: s, body } = answerTooLarge(opts.maxAnswerBytes ?? MAX_CAPTURE_BYTES);
        return timed(await answerError(res, s, JSON.stringify(body), responseId, opts.beforeEnd));
      }
      let buf = answer.bytes;
      let text: string | undefined;
      if (capture && opts.answer && status < 300) {
        // The Responses object the client gets, complete, with volley's id (DESIGN 11).
        text = buf.toString('utf8');
        const now = Math.floor(Date.now() / 1_000);
        const object = opts.answer.translated
          ? translatedAnswer(text, opts.answer.request, responseId, now)
          : completedAnswer(text, opts.answer.request, responseId, now);
        if (object !== undefined) {
          text = object;
          buf = Buffer.from(object, 'utf8');
          headers['content-type'] = 'application/json';
        }
      }
      const result: RelayResult = { status, body: capture ? (text ?? buf.toString('utf8')) : '', timing };
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
    timing.streamed = true;
    timing.firstByteAt = null;
    const tap = !capture
      ? undefined
      : opts.answer?.translated
        ? createTranslatingTap({ request: opts.answer.request, responseId, nowSeconds: Math.floor(Date.now() / 1_000) })
        : createStreamTap({
            kind: streamKind(opts.endpoint),
            ...(opts.answer ? { responseId, snapshot: snapshotFor(opts.answer.request, responseId) } : {}),
            ...(opts.beforeEnd ? { holdTerminal: true } : {}),
          });
    let rest: string | undefined;
    try {
      for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
        const out = tap ? tap.push(chunk) : chunk;
        if (out.length === 0) continue;
        timing.firstByteAt ??= epochNow();
        if (!res.write(out)) await drained(res);
      }
      rest = tap?.end();
    } catch (err) {
      if (abort.signal.aborted || res.destroyed) return timed(clientClosed());
      // The upstream failed mid-stream: the client already has a 200, so all we can do is
      // cut the connection (an SDK reports the truncated stream) and record the failure.
      res.destroy();
      return { status: 502, body: JSON.stringify(upstreamFailure(err).body), timing };
    }
    const result: RelayResult = { status, body: tap?.body() ?? '', timing };
    // The held terminal events go out once the answer is stored.
    if (!(await storedFirst(opts.beforeEnd, result, res))) return { ...result, notStored: true };
    if (rest) res.write(rest);
    res.end();
    return result;
  } finally {
    res.off('close', onClose);
  }
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

/** Completes each `response` snapshot of a pass-through Responses stream, with volley's id. */
function snapshotFor(request: unknown, responseId: string): (response: Record<string, unknown>) => Record<string, unknown> {
  const now = Math.floor(Date.now() / 1_000);
  return (response) => completeSnapshot(response, request, responseId, now);
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





