import { describe, expect, it } from 'vitest';
import { upstreamUrl } from '../../../src/upstream/client.ts';
import { forProcessor } from '../../../src/upstream/prepare.ts';
import { backoffDelayMs, isRetriableStatus, nextAttemptDelayMs, parseRetryAfter } from '../../../src/upstream/retry-policy.ts';

describe('upstreamUrl', () => {
  it("appends the path after /v1 to the model's base URL", () => {
    expect(upstreamUrl('http://up:8000/v1', '/chat/completions')).toBe('http://up:8000/v1/chat/completions');
    expect(upstreamUrl('http://other:9000/v1/', '/embeddings')).toBe('http://other:9000/v1/embeddings');
  });
});

describe('forProcessor', () => {
  it('removes stream, stream_options, background and service_tier and keeps the rest', () => {
    const body = {
      model: 'm',
      input: 'hi',
      stream: true,
      stream_options: { include_usage: true },
      background: true,
      service_tier: 'flex',
      temperature: 0,
    };
    expect(forProcessor(body)).toEqual({ model: 'm', input: 'hi', temperature: 0 });
  });
});

describe('retry policy', () => {
  it('retries 408, 429 and 5xx only', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetriableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413, 422].some(isRetriableStatus)).toBe(false);
  });

  it('backs off exponentially with equal jitter, capped', () => {
    const policy = { baseMs: 1_000, maxMs: 8_000 };
    expect(backoffDelayMs(policy, 0, () => 0)).toBe(500);
    expect(backoffDelayMs(policy, 0, () => 1)).toBe(1_000);
    expect(backoffDelayMs(policy, 2, () => 0)).toBe(2_000);
    expect(backoffDelayMs(policy, 2, () => 1)).toBe(4_000);
    expect(backoffDelayMs(policy, 10, () => 1)).toBe(8_000);
    expect(backoffDelayMs(policy, 1_000, () => 1)).toBe(8_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-05T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 05 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 05 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('waits for Retry-After when it asks for longer than the backoff', () => {
    const policy = { baseMs: 100, maxMs: 1_000 };
    expect(nextAttemptDelayMs(policy, 0, 5_000, () => 0)).toBe(5_000);
    expect(nextAttemptDelayMs(policy, 3, 10, () => 1)).toBe(800);
    expect(nextAttemptDelayMs(policy, 0, undefined, () => 1)).toBe(100);
  });
});
