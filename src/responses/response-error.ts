// The `error` of a response object in the Open Responses shape: `{code, message}` with a
// string `code`. volley's own failure mapping (failure-reason.ts) puts an upstream's HTTP
// status in `code` as a number; here that number becomes a string code and moves to
// `http_status`, and the OpenAI error `type` is kept beside them. Pure: no I/O.
import { errorTypeForStatus, type ParsedError } from './failure-reason.ts';
import { isRecord } from './json.ts';

/**
 * `code` and `message` are what the specification requires. `type` is the OpenAI error type
 * (DESIGN 7's table); `http_status` is the upstream's HTTP status when the failure was one
 * (what a blocking flex reply answers with).
 */
export interface ResponseError {
  code: string;
  message: string;
  type?: string;
  http_status?: number;
  [field: string]: unknown;
}

/**
 * The string code for an upstream HTTP status: `rate_limit_exceeded` for 429 (the code the
 * OpenAI API itself uses in response objects), else the error type DESIGN 7 gives the status
 * (`invalid_request_error`, `authentication_error`, …, `server_error`).
 */
export function codeForHttpStatus(status: number): string {
  return status === 429 ? 'rate_limit_exceeded' : errorTypeForStatus(status);
}

/** A failure as parsed from a row, in the response-object shape. */
export function toResponseError(parsed: ParsedError): ResponseError {
  return normaliseError(parsed) ?? { type: parsed.type, code: 'server_error', message: parsed.message };
}

/**
 * Any error-like object (ours, an upstream's, an OpenAI envelope's `error`) with a string
 * `code` and a `message`; other fields are kept. A numeric code that is an HTTP status becomes
 * `http_status` plus its string code; a missing code falls back to the error's `type`, else
 * `server_error`. Undefined when `value` has neither a message nor a code. Applying it twice
 * gives the same object.
 */
export function normaliseError(value: unknown): ResponseError | undefined {
  if (!isRecord(value)) return undefined;
  const { code, message, type } = value;
  if (typeof message !== 'string' && typeof code !== 'string') return undefined;
  const status = httpStatus(code) ?? httpStatus(value.http_status);
  const { http_status: _given, ...rest } = value;
  let stringCode: string;
  if (typeof code === 'string' && code !== '') stringCode = code;
  else if (status !== undefined) stringCode = codeForHttpStatus(status);
  else stringCode = typeof type === 'string' && type !== '' ? type : 'server_error';
  return {
    ...rest,
    code: stringCode,
    message: typeof message === 'string' ? message : stringCode,
    ...(status !== undefined ? { http_status: status } : {}),
  };
}

function httpStatus(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599 ? value : undefined;
}
