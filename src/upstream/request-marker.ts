import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * `x-volley-request-id` marks an upstream call that volley already tracks (the gateway's
 * relays and the request processor's calls), so that a volley gateway reached as the
 * upstream proxies it without recording it a second time. Whoever can read one marked call
 * must not be able to make untracked calls with it (DESIGN 13), so a marker is
 *
 *   `<requestId>.<expiry, unix seconds>.<SHA-256 of the body, base64url>.<HMAC of the three>`
 *
 * and a gateway honours it only when its own deployment signed it, it has not expired, it
 * was made for exactly the body that came with it, and (checked by the gateway in its
 * database) its request is still `processing`. A missing, malformed, forged, expired, moved
 * or replayed marker is simply ignored and the call is tracked like any other.
 *
 * The key is derived from ADMIN_TOKEN, which every role of one deployment shares. Without
 * one the process makes a random key: its marks are then honoured by nobody, so a chained
 * gateway tracks such calls twice rather than not at all.
 */
export const REQUEST_MARKER_HEADER = 'x-volley-request-id';

/**
 * How long a marker is honoured after it was made. It is checked when the marked call
 * arrives, a moment after it was sent, so a minute is plenty and bounds a replay.
 */
export const MARKER_TTL_MS = 60_000;

export function requestMarkerKey(adminToken: string | undefined): Buffer {
  if (adminToken === undefined) return randomBytes(32);
  return createHmac('sha256', adminToken).update('volley:request-marker').digest();
}

export function signRequestMarker(key: Buffer, requestId: string, body: Buffer | string, nowMs = Date.now()): string {
  const signed = `${requestId}.${Math.ceil((nowMs + MARKER_TTL_MS) / 1_000)}.${bodyHash(body)}`;
  return `${signed}.${mac(key, signed)}`;
}

/** The request id of a marker this deployment signed for `body`, still fresh; else undefined. */
export function verifyRequestMarker(
  key: Buffer,
  value: string | string[] | undefined,
  body: Buffer | string,
  nowMs = Date.now(),
): string | undefined {
  if (typeof value !== 'string') return undefined;
  const parts = value.split('.');
  if (parts.length !== 4 || parts.some((p) => p === '')) return undefined;
  const [requestId, expiry, hash, given] = parts as [string, string, string, string];
  const signed = `${requestId}.${expiry}.${hash}`;
  const expected = Buffer.from(mac(key, signed));
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined;
  if (!/^\d+$/.test(expiry) || Number(expiry) * 1_000 < nowMs) return undefined;
  if (hash !== bodyHash(body)) return undefined;
  return requestId;
}

function bodyHash(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('base64url');
}

function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}
