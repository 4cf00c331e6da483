// The one place that turns errors into HTTP answers: every error the gateway sends, its own
// or Fastify's, is an OpenAI error envelope {"error":{"message","type","param","code"}}.
import {
  AppError,
  InvalidResponseId,
  RequestNotFound,
  RequestStateConflict,
  TooManyWaiters,
  Validation,
  WaitTimeout,
} from '../errors.ts';
import { errorTypeForReply } from '../responses/failure-reason.ts';

export interface ErrorEnvelope {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | number | null;
  };
}

/** An error the gateway answers with a specific status and envelope. */
export class HttpError extends AppError {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  /** Sent as Retry-After (seconds): every 503 volley answers carries one. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    message: string,
    opts: { code?: string; type?: string; param?: string | null; retryAfterSeconds?: number } = {},
  ) {
    super(opts.code ?? 'http_error', message, { retryable: false });
    this.status = status;
    this.type = opts.type ?? errorTypeForReply(status);
    this.param = opts.param ?? null;
    this.retryAfterSeconds = opts.retryAfterSeconds ?? (status === 503 ? 1 : undefined);
  }

  get envelope(): ErrorEnvelope {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function envelope(status: number, message: string, code: string | null, param: string | null = null): ErrorEnvelope {
  return { error: { message, type: errorTypeForReply(status), param, code } };
}

export const badRequest = (message: string, param: string | null = null, code = 'invalid_request') =>
  new HttpError(400, message, { param, code });

export const missingApiKey = () =>
  new HttpError(401, 'You did not provide an API key. Send it as "Authorization: Bearer <key>".', {
    code: 'missing_api_key',
  });

export const invalidApiKey = (prefix: string) =>
  new HttpError(401, `Incorrect API key provided: ${prefix}…`, { code: 'invalid_api_key' });

export const modelNotAllowed = (model: string) =>
  new HttpError(403, `This API key is not allowed to use the model '${model}'.`, {
    code: 'model_not_allowed',
    param: 'model',
  });

/** Malformed, unknown, deleted and other users' ids all look the same: no existence leaks. */
export const responseNotFound = (id: string) =>
  new HttpError(404, `No response found with id '${id.slice(0, 100)}'.`, { code: 'response_not_found', param: 'id' });

export interface HttpErrorAnswer {
  status: number;
  body: ErrorEnvelope;
  /** Sent as Retry-After. */
  retryAfterSeconds?: number;
  /** True for errors that are our fault (5xx that were not expected): log them with their stack. */
  unexpected: boolean;
}

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: unknown;
}

/** Maps any thrown value to the HTTP status and envelope the client gets. */
export function toHttpError(err: unknown): HttpErrorAnswer {
  if (err instanceof HttpError) {
    return {
      status: err.status,
      body: err.envelope,
      unexpected: false,
      ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
    };
  }
  if (err instanceof TooManyWaiters) return { ...expected(503, 'The gateway is at capacity. Please retry.', 'overloaded'), retryAfterSeconds: 1 };
  if (isDatabaseUnavailable(err)) {
    return { ...expected(503, 'The database is unavailable. Please retry.', 'database_unavailable'), retryAfterSeconds: 1 };
  }
  if (err instanceof InvalidResponseId) return expected(404, err.message, 'response_not_found', 'id');
  if (err instanceof RequestNotFound) return expected(404, `No response found with id 'resp_${err.requestId}'.`, 'response_not_found', 'id');
  if (err instanceof Validation) {
    return expected(400, err.message, 'invalid_request', err.issues[0]?.path ?? null);
  }
  if (err instanceof WaitTimeout) return expected(504, err.message, 'timeout');
  if (err instanceof RequestStateConflict) return expected(409, err.message, 'request_state_conflict');
  const e = (typeof err === 'object' && err !== null ? err : {}) as FastifyLikeError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const message = typeof e.message === 'string' ? e.message : 'Internal error';
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return expected(413, 'The request body is too large.', 'request_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return expected(415, message, 'unsupported_media_type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return expected(400, 'We could not parse the JSON body of your request.', 'invalid_json');
  }
  if (e.validation !== undefined) return expected(400, message, 'invalid_request');
  // Fastify's and Node's client errors (bad content length, …) carry a 4xx statusCode and a safe message.
  if (status !== undefined && status >= 400 && status < 500) {
    return expected(status, message, code?.startsWith('FST_') ? code.slice(4).toLowerCase() : 'invalid_request');
  }
  if (err instanceof AppError && status === undefined) {
    return { status: 500, body: envelope(500, 'The server had an error while processing your request.', err.code), unexpected: true };
  }
  return {
    status: status !== undefined && status >= 500 && status < 600 ? status : 500,
    body: envelope(500, 'The server had an error while processing your request.', 'internal_error'),
    unexpected: true,
  };
}

function expected(status: number, message: string, code: string | null, param: string | null = null): HttpErrorAnswer {
  return { status, body: envelope(status, message, code, param), unexpected: false };
}

/** A memory bound was reached (DESIGN 13): refused before anything else is held for it. */
export function overloaded(): HttpError {
  return new HttpError(503, 'The gateway is at capacity. Please retry.', { code: 'overloaded', retryAfterSeconds: 1 });
}

/**
 * The gateway could not record a request, so it refused it. Before proxying, the request
 * was not sent upstream (for background and flex, an ambiguous failure, such as a
 * connection lost during COMMIT, may still have stored it; a retry then makes a second
 * one). With DURABILITY=fast, the upstream call was cut off.
 */
export function trackingUnavailable(): HttpError {
  return new HttpError(503, 'The gateway could not record the request. Please retry.', {
    code: 'tracking_unavailable',
  });
}

// SQLSTATE classes and codes that mean "the database is not there right now", not "this
// statement is wrong": connection exceptions (08), operator intervention (57P01-57P03:
// shutdown, crash, starting up), too many connections (53300).
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Client has encountered a connection error/,
  /is not currently accepting connections/,
  /the database system is (starting up|shutting down|in recovery mode)/,
];

/** Whether `err` says the database could not be reached (as opposed to a query being refused). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODES.has(code))) return true;
  if (UNAVAILABLE_MESSAGES.some((re) => re.test(err.message))) return true;
  // AggregateError (every address refused), or a wrapper whose cause is one of the above.
  if (err instanceof AggregateError) return err.errors.some(isDatabaseUnavailable);
  return err.cause !== undefined && err.cause !== err && isDatabaseUnavailable(err.cause);
}
