// Dashboard sessions as pure functions: what a valid cookie is, and that every other value
// (expired, tampered, signed with another token, malformed) is refused through the same
// constant-time comparison.
import * as crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';

// A pass-through spy on timingSafeEqual, to see that the signature check goes through it.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const {
  SESSION_COOKIE,
  SESSION_LIFETIME_S,
  issueSession,
  macEquals,
  readCookie,
  sessionChecker,
  sessionCookieHeader,
  sessionKey,
  tokenMatcher,
  verifySession,
} = await import('../../../src/gateway/dashboard-session.ts');

const key = sessionKey('an-admin-token-of-some-length');
const now = Date.UTC(2025, 0, 1, 12, 0, 0);
const safeEqual = vi.mocked(crypto.timingSafeEqual);

afterEach(() => safeEqual.mockClear());

describe('verifySession', () => {
  it('accepts a value it issued, for twelve hours', () => {
    const value = issueSession(key, now);
    expect(value).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(verifySession(key, value, now)).toBe(true);
    expect(verifySession(key, value, now + (SESSION_LIFETIME_S - 1) * 1000)).toBe(true);
  });

  it('refuses it once expired', () => {
    const value = issueSession(key, now);
    expect(verifySession(key, value, now + SESSION_LIFETIME_S * 1000)).toBe(false);
    expect(verifySession(key, value, now + 10 * SESSION_LIFETIME_S * 1000)).toBe(false);
  });

  it('refuses a tampered expiry or signature, and one signed for another token', () => {
    const value = issueSession(key, now);
    const [expiry, mac] = value.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    expect(verifySession(key, `${Number(expiry) + 3600}.${mac}`, now)).toBe(false);
    expect(verifySession(key, `${Number(expiry) - 1}.${mac}`, now)).toBe(false);
    expect(verifySession(key, `${expiry}.${flip(mac, 0)}`, now)).toBe(false);
    expect(verifySession(key, `${expiry}.${flip(mac, 42)}`, now)).toBe(false);
    expect(verifySession(sessionKey('another-admin-token-entirely'), value, now)).toBe(false);
  });

  it('refuses malformed values without throwing', () => {
    const value = issueSession(key, now);
    for (const bad of [undefined, '', '.', value.split('.')[0], `${value}x`, `x${value}`, `${value.slice(0, -2)}`, `-1.${value.split('.')[1]}`, `${'9'.repeat(13)}.${value.split('.')[1]}`]) {
      expect(verifySession(key, bad, now), String(bad)).toBe(false);
    }
  });

  it('refuses a validly signed expiry further out than one lifetime (this code never issues one)', () => {
    const far = issueSession(key, now + 2 * SESSION_LIFETIME_S * 1000);
    expect(verifySession(key, far, now)).toBe(false);
  });

  it('compares every well-formed signature in constant time, right or wrong, first byte or last', () => {
    const value = issueSession(key, now);
    const [expiry, mac] = value.split('.') as [string, string];
    verifySession(key, value, now);
    verifySession(key, `${expiry}.${mac.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`, now);
    verifySession(key, `${expiry}.${mac.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`, now);
    expect(safeEqual).toHaveBeenCalledTimes(3);
    for (const [a, b] of safeEqual.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });
});

describe('macEquals and tokenMatcher', () => {
  it('are equality, false for different lengths instead of throwing', () => {
    expect(macEquals(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(macEquals(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(macEquals(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
  });

  it('tokenMatcher compares digests in constant time, so any length of guess is safe', () => {
    const matches = tokenMatcher('the-real-admin-token');
    expect(matches('the-real-admin-token')).toBe(true);
    expect(matches('the-real-admin-tokeN')).toBe(false);
    expect(matches('')).toBe(false);
    expect(matches('x'.repeat(5000))).toBe(false);
    expect(safeEqual).toHaveBeenCalledTimes(4);
    expect(tokenMatcher(undefined)('anything')).toBe(false);
  });
});

describe('cookies', () => {
  it('reads the named cookie among others', () => {
    expect(readCookie(`a=1; ${SESSION_COOKIE}=123.abc; b=2`, SESSION_COOKIE)).toBe('123.abc');
    expect(readCookie(`${SESSION_COOKIE}x=1`, SESSION_COOKIE)).toBeUndefined();
    expect(readCookie(undefined, SESSION_COOKIE)).toBeUndefined();
    expect(readCookie('garbage;;=;', SESSION_COOKIE)).toBeUndefined();
  });

  it('writes HttpOnly, SameSite=Strict, Path=/ (and Secure over https); null clears', () => {
    expect(sessionCookieHeader('1.x', { secure: false })).toBe(`${SESSION_COOKIE}=1.x; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`);
    expect(sessionCookieHeader('1.x', { secure: true })).toMatch(/; Secure$/);
    expect(sessionCookieHeader(null, { secure: false })).toBe(`${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
  });

  it('sessionChecker accepts a fresh session of its token only, and nothing without a token', () => {
    const check = sessionChecker('an-admin-token-of-some-length');
    expect(check(`${SESSION_COOKIE}=${issueSession(key, Date.now())}`)).toBe(true);
    expect(check(`${SESSION_COOKIE}=${issueSession(sessionKey('some-other-admin-token'), Date.now())}`)).toBe(false);
    expect(sessionChecker(undefined)(`${SESSION_COOKIE}=${issueSession(key, Date.now())}`)).toBe(false);
  });
});
