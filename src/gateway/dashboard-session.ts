// Dashboard sessions (DESIGN 12): a signed expiry in a cookie, nothing stored, so every
// gateway process accepts a session another one issued, and a restart logs nobody out.
// The value is `<expiry-unix-seconds>.<base64url HMAC-SHA256(expiry)>` under a key derived
// from ADMIN_TOKEN: changing the token ends every session.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'volley_dashboard';

/** Twelve hours: a working day, after which the admin token is asked for again. */
export const SESSION_LIFETIME_S = 12 * 60 * 60;

/** The header a cookie-authenticated mutation must carry (CSRF defence beyond SameSite). */
export const DASHBOARD_HEADER = 'x-volley-dashboard';

/**
 * The session signing key: derived from the token under a label of its own, so no other
 * use of ADMIN_TOKEN (the request marker's key) ever signs with the same key.
 */
export function sessionKey(adminToken: string): Buffer {
  return createHmac('sha256', adminToken).update('volley-dashboard-session').digest();
}

/** A fresh session cookie value that expires `SESSION_LIFETIME_S` after `nowMs`. */
export function issueSession(key: Buffer, nowMs: number): string {
  const expiry = Math.floor(nowMs / 1000) + SESSION_LIFETIME_S;
  return `${expiry}.${sign(key, expiry).toString('base64url')}`;
}

// An expiry of at most 12 digits (year 33658) and exactly one SHA-256 in canonical base64url:
// the 43rd character carries 4 bits and 2 unused ones, which must be zero, else four strings
// decode to the same MAC and a changed cookie still verified.
const VALUE = /^(\d{1,12})\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

/**
 * Whether `value` is a session this key issued that has not expired. The signature is
 * compared with timingSafeEqual over two 32-byte digests (a value of any other shape is
 * refused by its form alone, which says nothing about the key).
 */
export function verifySession(key: Buffer, value: string | undefined, nowMs: number): boolean {
  if (value === undefined) return false;
  const match = VALUE.exec(value);
  if (!match) return false;
  const expiry = Number(match[1]);
  const given = Buffer.from(match[2]!, 'base64url');
  if (!macEquals(given, sign(key, expiry))) return false;
  const now = Math.floor(nowMs / 1000);
  // A signed expiry further out than one lifetime was not issued by this code.
  return expiry > now && expiry <= now + SESSION_LIFETIME_S;
}

/** Constant-time equality of two MACs; different lengths are unequal (never a throw). */
export function macEquals(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

function sign(key: Buffer, expiry: number): Buffer {
  return createHmac('sha256', key).update(`volley-session:${expiry}`).digest();
}

/** One cookie's value from a Cookie header (first occurrence), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The Set-Cookie header for a session: HttpOnly (no script reads it), SameSite=Strict (no
 * other site's page sends it), Path=/ (the pages and /admin share it), Secure when the
 * browser reached us over https. `value: null` clears it.
 */
export function sessionCookieHeader(value: string | null, opts: { secure: boolean }): string {
  const parts = [
    `${SESSION_COOKIE}=${value ?? ''}`,
    'HttpOnly',
    'SameSite=Strict',
    'Path=/',
    `Max-Age=${value === null ? 0 : SESSION_LIFETIME_S}`,
  ];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** A checker of requests' cookies against ADMIN_TOKEN's sessions; always false without one. */
export function sessionChecker(adminToken: string | undefined): (cookieHeader: string | undefined) => boolean {
  if (adminToken === undefined) return () => false;
  const key = sessionKey(adminToken);
  return (cookieHeader) => verifySession(key, readCookie(cookieHeader, SESSION_COOKIE), Date.now());
}

/** A constant-time check of a submitted token against ADMIN_TOKEN (as SHA-256 digests, so lengths never differ). */
export function tokenMatcher(adminToken: string | undefined): (submitted: string) => boolean {
  if (adminToken === undefined) return () => false;
  const want = createHash('sha256').update(adminToken).digest();
  return (submitted) => timingSafeEqual(createHash('sha256').update(submitted).digest(), want);
}
