import { describe, expect, it, vi } from 'vitest';
import { createCompletionTracker } from '../../../src/gateway/tracking.ts';
import type { CompleteResponsePayload } from '../../../src/jobs/definitions.ts';
import { createLogger } from '../../../src/logger.ts';

const payload = { requestId: 'r1' } as CompleteResponsePayload;
const logger = createLogger('silent');

describe('completion tracker', () => {
  it('retries a failed enqueue until it is stored', async () => {
    const enqueue = vi
      .fn<(p: CompleteResponsePayload) => Promise<void>>()
      .mockRejectedValueOnce(new Error('down'))
      .mockRejectedValueOnce(new Error('still down'))
      .mockResolvedValue(undefined);
    const tracker = createCompletionTracker({ enqueue, logger, retry: { minMs: 1, maxMs: 1 } });
    tracker.complete(payload);
    expect(tracker.pending).toBe(1);
    expect(await tracker.flush(5_000)).toEqual({ unsaved: 0 });
    expect(enqueue).toHaveBeenCalledTimes(3);
    expect(tracker.pending).toBe(0);
  });

  it('retries whatever the enqueue throws, a TypeError included', async () => {
    const enqueue = vi
      .fn<(p: CompleteResponsePayload) => Promise<void>>()
      .mockRejectedValueOnce(new TypeError('bug in a driver'))
      .mockResolvedValue(undefined);
    const tracker = createCompletionTracker({ enqueue, logger, retry: { minMs: 1, maxMs: 1 } });
    tracker.complete(payload);
    expect(await tracker.flush(5_000)).toEqual({ unsaved: 0 });
    expect(enqueue).toHaveBeenCalledTimes(2);
  });

  it('flush gives up after its timeout and reports what is unsaved', async () => {
    const tracker = createCompletionTracker({ enqueue: () => Promise.reject(new Error('down')), logger, retry: { minMs: 5, maxMs: 5 } });
    tracker.complete(payload);
    expect(await tracker.flush(30)).toEqual({ unsaved: 1 });
  });

  it('returns at once: the enqueue is not awaited by the caller', () => {
    let resolve!: () => void;
    const tracker = createCompletionTracker({ enqueue: () => new Promise<void>((r) => (resolve = r)), logger });
    tracker.complete(payload);
    expect(tracker.pending).toBe(1);
    resolve();
  });
});
