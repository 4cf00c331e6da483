/**
 * How the development upstream turns failures that are not an endpoint's own answer into
 * the OpenAI error envelope: body parse errors, Fastify's errors (body too large, bad
 * content length, …), unexpected exceptions, and malformed HTTP.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorTypeForReply } from '../responses/failure-reason.ts';

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export const INVALID_JSON_MESSAGE = 'We could not parse the JSON body of your request.';
export const NOT_AN_OBJECT_MESSAGE = 'The request body must be a JSON object.';

/** A request body that is not a JSON object; answered 400 `invalid_json`. */
export class BodyError extends Error {
  readonly statusCode = 400;
  override readonly name = 'BodyError';
}

export interface ErrorReply {
  status: number;
  message: string;
  param: string | null;
  code: string | null;
}

type FastifyLikeError = Error & { code?: unknown; statusCode?: unknown };

function asError(error: unknown): FastifyLikeError {
  return error instanceof Error ? error : new Error(String(error));
}

/** Whether `error` was raised while reading the body, before any route handler ran. */
export function isBodyError(error: unknown): boolean {
  const code = asError(error).code;
  return error instanceof BodyError || (typeof code === 'string' && code.startsWith('FST_ERR_CTP_'));
}

/** The envelope fields for an error that reached Fastify's error handler. */
export function errorReply(thrown: unknown): ErrorReply {
  if (thrown instanceof BodyError) return { status: 400, message: thrown.message, param: null, code: 'invalid_json' };
  const error = asError(thrown);
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: `Request body exceeds ${MAX_BODY_BYTES} bytes`, param: null, code: 'request_too_large' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'The Content-Length header does not match the body.', param: null, code: 'invalid_content_length' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'The Content-Type header is not a valid media type.', param: null, code: 'unsupported_media_type' };
  }
  const given = error.statusCode;
  const status = typeof given === 'number' && given >= 400 && given <= 599 ? given : 500;
  const message = status >= 500 ? `Development upstream failed: ${error.message}` : error.message;
  return { status, message, param: null, code: null };
}

/**
 * Answers malformed HTTP (a request Node's parser rejects) with the envelope and closes the
 * connection, the way Node does by default but with a body clients can read.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection is already gone: there is nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify({
    error: { message: `Malformed HTTP request (${STATUS_CODES[status]})`, type: errorTypeForReply(status), param: null, code: null },
  });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
