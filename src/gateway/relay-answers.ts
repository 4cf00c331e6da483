// The relay's answers that are not the upstream's bytes: a refusal, an upstream failure as an
// envelope, a client that left, an answer too large, each stored first when the caller asks
// (beforeEnd), and the non-streamed answer read whole up to its bound.
import type { ServerResponse } from 'node:http';
import { errors as undiciErrors } from 'undici';
import { envelope } from './http-errors.ts';

export const RESPONSE_ID_HEADER = 'x-volley-response-id';

/** nginx's "client closed request": what the row records when the client left first. */
export const CLIENT_CLOSED_STATUS = 499;

export interface RelayResult {
  /** The status the client got (or CLIENT_CLOSED_STATUS). */
  status: number;
  /** The body to store: the final JSON (rebuilt for streams); '' for untracked requests. */
  body: string;
  /** Set when `recorded` rejected: the client got 503 and nothing of the upstream's answer. */
  notRecorded?: unknown;
  /** Set when `beforeEnd` failed: the connection was cut before the answer's final bytes. */
  notStored?: true;
  /** When the upstream call started and its answer's first byte came (epoch ms), once it was called. */
  timing?: RelayTiming;
}

export interface RelayTiming {
  upstreamStartedAt: number;
  /** The headers of a JSON answer; a stream's first event written to the client. */
  firstByteAt: number | null;
  streamed: boolean;
}

/**
 * Runs `beforeEnd` (the caller storing the answer); true when the final bytes may go out.
 * When it fails, the client gets no complete answer: the connection is cut, so it cannot
 * take what it holds for an answer that was stored.
 */
export async function storedFirst(
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

export type Answer = { kind: 'ok'; bytes: Buffer } | { kind: 'too-large' } | { kind: 'failed'; error: unknown };

/** A non-streamed answer, read whole up to `limit` bytes (it is held to be rewritten and stored). */
export async function readAnswer(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<Answer> {
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

export function answerTooLarge(limit: number): { status: number; body: ReturnType<typeof envelope> } {
  return {
    status: 502,
    body: envelope(502, `The upstream's answer is larger than ${limit} bytes, more than this gateway holds.`, 'upstream_answer_too_large'),
  };
}

export function clientClosed(): RelayResult {
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

export function sendFailure(
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
export async function answerError(
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

export function sendError(res: ServerResponse, status: number, text: string, responseId: string | undefined): RelayResult {
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