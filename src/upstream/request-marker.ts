import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * `x-volley-request-id` marks an upstream call that volley already tracks (the gateway's
 * relays and the request processor's calls), so that a volley gateway reached as the
 * upstream proxies it without recording it a second time. The value is signed —
 * `<requestId>.<HMAC>` — so a client cannot send the header itself to keep its calls out
 * of the record: a missing, malformed or forged marker is simply ignored and the call is
 * tracked.
 *
 * The key is derived from ADMIN_TOKEN, which every role of one deployment shares. Without
 * one the process makes a random key: its marks are then honoured by nobody, so a chained
 * gateway tracks such calls twice rather than not at all.
 */
export const REQUEST_MARKER_HEADER = 'x-volley-request-id';

export function requestMarkerKey(adminToken: string | undefined): Buffer {
  if (adminToken === undefined) return randomBytes(32);
  return createHmac('sha256', adminToken).update('volley:request-marker').digest();
}

export function signRequestMarker(key: Buffer, requestId: string): string {
  return `${requestId}.${mac(key, requestId)}`;
}

/** True only for a marker this deployment signed. */
export function verifyRequestMarker(key: Buffer, value: string | string[] | undefined): boolean {
  if (typeof value !== 'string') return false;
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return false;
  const expected = Buffer.from(mac(key, value.slice(0, dot)));
  const given = Buffer.from(value.slice(dot + 1));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function mac(key: Buffer, requestId: string): string {
  return createHmac('sha256', key).update(requestId).digest('base64url');
}
