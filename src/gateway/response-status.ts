// How a response object is answered over HTTP, wherever the gateway returns one.
import type { ResponseObject } from '../responses/response-object.ts';

export const POLL_AFTER_HEADER = 'openai-poll-after-ms';
/** Suggested polling interval for a response that is not finished yet. */
export const POLL_AFTER_MS = '1000';

/**
 * The HTTP status that matches a terminal response object: 200 for completed (and for
 * cancelled and incomplete: the object itself says so, and the call did what was asked of
 * it); for failed, the upstream's own status when it answered with one (`error.http_status`),
 * 504 when it timed out or the request expired, 502 when it could not be reached, else 500.
 */
export function statusForResponse(object: ResponseObject): number {
  if (object.status !== 'failed') return 200;
  const error = object.error;
  const http = error?.http_status;
  if (typeof http === 'number' && http >= 400 && http <= 599) return http;
  const code = error?.code;
  if (code === 'timeout' || code === 'expired') return 504;
  if (code === 'network_error') return 502;
  return 500;
}
