import { createHash, timingSafeEqual } from 'node:crypto';

/** The token in an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * A check of `Authorization: Bearer <secret>` against one expected secret, in constant time:
 * both sides are compared as SHA-256 digests (equal lengths), so the time says nothing about
 * the secret.
 */
export function bearerMatcher(expected: string): (authorization: string | undefined) => boolean {
  const want = digest(expected);
  return (authorization) => {
    const token = bearerToken(authorization);
    return token !== undefined && timingSafeEqual(digest(token), want);
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
