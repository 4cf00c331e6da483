// Why a request failed, as stored in `requests.error` (DESIGN 8.2), and how any stored error
// text becomes the `error` field of a response object (DESIGN 7). Pure: no I/O.
import { z } from 'zod';
import { isRecord, parseJson } from './json.ts';

/** An upstream answered with an HTTP error status. `body` is the upstream body as received. */
export interface HttpStatusFailure {
  type: 'RetriableHttpStatus' | 'NonRetriableHttpStatus';
  details: { status: number; body: string };
}

/** The upstream call never produced a status: connection error, or our timeout fired. */
export interface TransportFailure {
  type: 'NetworkError' | 'Timeout';
  details: { error: string };
}

/**
 * The completion window closed before the request could finish. `expires_at` is the
 * request's deadline (ISO 8601) and `last` the failure of the final attempt, when there was
 * one, so an operator can tell "never ran" from "kept failing with 503".
 */
export interface ExpiredFailure {
  type: 'Expired';
  details?: { expires_at?: string; last?: FailureReason };
}

/** A realtime row stayed `processing` after its gateway died; the sweeper closed it (8.3). */
export interface TrackingLostFailure {
  type: 'TrackingLost';
}

/**
 * The database refused to store the record as it was (a value out of range, say, that no
 * sanitising could save): it is stored without its bodies, failed with this. `stage` says
 * which write refused it (`enqueue`: the job table; `store`: the requests table), `code` is
 * PostgreSQL's SQLSTATE, `status` the HTTP status the client got, when there was one.
 */
export interface RecordRejectedFailure {
  type: 'RecordRejected';
  details: { stage: 'enqueue' | 'store'; code: string; status?: number };
}

// Canceled is deliberately absent: it is a state of the row, not a failure reason.
export type FailureReason = HttpStatusFailure | TransportFailure | ExpiredFailure | TrackingLostFailure | RecordRejectedFailure;

export function retriableHttpStatus(status: number, body: string): HttpStatusFailure {
  return { type: 'RetriableHttpStatus', details: { status, body } };
}

export function nonRetriableHttpStatus(status: number, body: string): HttpStatusFailure {
  return { type: 'NonRetriableHttpStatus', details: { status, body } };
}

export function networkError(error: string): TransportFailure {
  return { type: 'NetworkError', details: { error } };
}

export function timeout(error: string): TransportFailure {
  return { type: 'Timeout', details: { error } };
}

export function expired(opts: { expiresAt?: Date; last?: FailureReason } = {}): ExpiredFailure {
  const details: NonNullable<ExpiredFailure['details']> = {};
  if (opts.expiresAt !== undefined) details.expires_at = opts.expiresAt.toISOString();
  if (opts.last !== undefined) details.last = opts.last;
  return Object.keys(details).length === 0 ? { type: 'Expired' } : { type: 'Expired', details };
}

export function trackingLost(): TrackingLostFailure {
  return { type: 'TrackingLost' };
}

export function recordRejected(details: RecordRejectedFailure['details']): RecordRejectedFailure {
  return { type: 'RecordRejected', details };
}

/** The text stored in `requests.error`. */
export function serializeFailureReason(reason: FailureReason): string {
  return JSON.stringify(reason);
}

const failureReasonSchema: z.ZodType<FailureReason> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.object({
      type: z.enum(['RetriableHttpStatus', 'NonRetriableHttpStatus']),
      details: z.object({ status: z.number().int(), body: z.string() }),
    }),
    z.object({
      type: z.enum(['NetworkError', 'Timeout']),
      details: z.object({ error: z.string() }),
    }),
    z.object({
      type: z.literal('Expired'),
      details: z
        .object({ expires_at: z.string().optional(), last: failureReasonSchema.optional() })
        .optional(),
    }),
    z.object({ type: z.literal('TrackingLost') }),
    z.object({
      type: z.literal('RecordRejected'),
      details: z.object({ stage: z.enum(['enqueue', 'store']), code: z.string(), status: z.number().int().optional() }),
    }),
  ]),
);

/** The FailureReason in `value` (already JSON-decoded), or undefined when it is not one. */
export function asFailureReason(value: unknown): FailureReason | undefined {
  const parsed = failureReasonSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The FailureReason stored as `text`, or undefined when the text is in another format. */
export function parseFailureReason(text: string): FailureReason | undefined {
  const value = parseJson(text);
  return value === undefined ? undefined : asFailureReason(value);
}

/** The OpenAI error types this gateway reports; an upstream envelope may carry others. */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'insufficient_credits'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error';

/** The `error` field of a response object. */
export interface ParsedError {
  type: string;
  /** The upstream HTTP status for HTTP failures, a snake_case string for the others. */
  code: string | number | null;
  message: string;
}

const errorTypeByStatus: ReadonlyMap<number, OpenAIErrorType> = new Map([
  [400, 'invalid_request_error'],
  [401, 'authentication_error'],
  [402, 'insufficient_credits'],
  [403, 'permission_error'],
  [404, 'not_found_error'],
  [429, 'rate_limit_error'],
]);

/** DESIGN 7's table, for stored upstream failures: anything unlisted is a server error. */
export function errorTypeForStatus(status: number): OpenAIErrorType {
  return errorTypeByStatus.get(status) ?? 'server_error';
}

/**
 * The type for an error this service answers itself (gateway, development upstream), as the
 * OpenAI API labels them: the same table, except that an unlisted 4xx (413, 422, …) is the
 * client's request error rather than a server error.
 */
export function errorTypeForReply(status: number): OpenAIErrorType {
  return errorTypeByStatus.get(status) ?? (status < 500 ? 'invalid_request_error' : 'server_error');
}

/** The upstream OpenAI envelope's `error.message` when `body` is one, else the raw body. */
export function messageFromBody(body: string): string {
  const envelope = asErrorEnvelope(parseJson(body));
  return envelope?.message ?? body;
}

/** The response-object error for an upstream that answered `status` with `body`. */
export function httpStatusError(status: number, body: string): ParsedError {
  // An empty body would leave the client with an empty message; name the status instead.
  const message = messageFromBody(body) || `Upstream returned ${status}`;
  return { type: errorTypeForStatus(status), code: status, message };
}

export function failureReasonToError(reason: FailureReason): ParsedError {
  switch (reason.type) {
    case 'RetriableHttpStatus':
    case 'NonRetriableHttpStatus':
      return httpStatusError(reason.details.status, reason.details.body);
    case 'NetworkError':
      return serverError('network_error', `Network error calling the upstream: ${reason.details.error}`);
    case 'Timeout':
      return serverError('timeout', `The upstream did not answer in time: ${reason.details.error}`);
    case 'Expired':
      return serverError('expired', expiredMessage(reason));
    case 'TrackingLost':
      return serverError(
        'tracking_lost',
        'The gateway stopped tracking this request before the upstream answered; it was not retried',
      );
    case 'RecordRejected':
      return serverError(
        'record_rejected',
        `The answer could not be stored as it was (the database refused it, SQLSTATE ${reason.details.code}); ` +
          'its bodies were dropped',
      );
  }
}

function expiredMessage(reason: ExpiredFailure): string {
  const at = reason.details?.expires_at;
  const last = reason.details?.last;
  let message = 'The request expired before it could complete';
  if (at !== undefined) message += ` (deadline ${at})`;
  if (last !== undefined) message += `; last failure: ${failureReasonToError(last).message}`;
  return message;
}

// Written by the reference's store before FailureReason JSON existed. The body may span lines.
const legacyUpstreamError = /^Upstream returned (\d{3}): ?([\s\S]*)$/;

/**
 * The response-object error for a stored `requests.error` text in any of its formats:
 * FailureReason JSON, the legacy `Upstream returned <status>: <body>`, a raw OpenAI error
 * envelope, or plain text (reported as `server_error` with no code).
 */
export function parseStoredError(text: string): ParsedError {
  const value = parseJson(text);
  if (value !== undefined) {
    const reason = asFailureReason(value);
    if (reason !== undefined) return failureReasonToError(reason);
    const envelope = asErrorEnvelope(value);
    if (envelope !== undefined) return envelope;
  }
  const legacy = legacyUpstreamError.exec(text);
  if (legacy !== null) return httpStatusError(Number(legacy[1]), legacy[2] ?? '');
  const message = text.trim();
  return serverError(null, message === '' ? 'The request failed' : message);
}

function serverError(code: string | null, message: string): ParsedError {
  return { type: 'server_error', code, message };
}

/** `{"error":{"message":…,"type"?:…,"code"?:…}}` as a ParsedError, else undefined. */
function asErrorEnvelope(value: unknown): ParsedError | undefined {
  if (!isRecord(value) || !isRecord(value.error)) return undefined;
  const { message, type, code } = value.error;
  if (typeof message !== 'string') return undefined;
  return {
    type: typeof type === 'string' && type !== '' ? type : 'server_error',
    code: typeof code === 'string' || typeof code === 'number' ? code : null,
    message,
  };
}
