import { describe, expect, it } from 'vitest';
import { FailedAttempts } from '../../../src/gateway/failed-attempts.ts';

describe('FailedAttempts', () => {
  const limits = { max: 3, windowMs: 60_000, addresses: 2 };

  it('refuses an address after max failures until its window ends, then forgets them', () => {
    let now = 1_000_000;
    const attempts = new FailedAttempts(limits, () => now);
    for (let i = 0; i < 3; i++) {
      expect(attempts.waitFor('10.0.0.1')).toBe(0);
      attempts.failed('10.0.0.1');
      now += 1_000;
    }
    // Three failures at 0, 1 and 2 s: the window opened at the first one ends at 60 s.
    expect(attempts.waitFor('10.0.0.1')).toBe(57);
    expect(attempts.waitFor('10.0.0.2')).toBe(0);
    now += 56_500;
    expect(attempts.waitFor('10.0.0.1')).toBe(1);
    now += 500;
    expect(attempts.waitFor('10.0.0.1')).toBe(0);
    // A new window: one failure is far from the limit.
    attempts.failed('10.0.0.1');
    expect(attempts.waitFor('10.0.0.1')).toBe(0);
  });

  it('holds at most `addresses` windows, forgetting the least recently seen', () => {
    const attempts = new FailedAttempts(limits, () => 0);
    for (let i = 0; i < 3; i++) attempts.failed('a');
    attempts.failed('b');
    attempts.failed('c');
    // 'a' was the least recently touched of three in a cache of two.
    expect(attempts.waitFor('a')).toBe(0);
    for (let i = 0; i < 2; i++) attempts.failed('c');
    expect(attempts.waitFor('c')).toBe(60);
  });
});
