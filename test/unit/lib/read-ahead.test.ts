import { afterEach, describe, expect, it } from 'vitest';
import { forEachPageAhead } from '../../../src/lib/read-ahead.ts';

interface Page {
  n: number;
  next?: string;
}

/** Pages 0..count-1, each naming the next; records the cursors read and the reads in flight. */
function pages(count: number, fail?: number) {
  const reads: (string | undefined)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const read = async (cursor: string | undefined): Promise<Page> => {
    reads.push(cursor);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight--;
    const n = cursor === undefined ? 0 : Number(cursor);
    if (n === fail) throw new Error(`page ${n} failed`);
    return { n, ...(n + 1 < count ? { next: String(n + 1) } : {}) };
  };
  return { read, reads, maxInFlight: () => maxInFlight };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  unhandled.length = 0;
});

describe('forEachPageAhead', () => {
  it('handles every page in order, reading the next while one is handled, never two ahead', async () => {
    const p = pages(5);
    const handled: number[] = [];
    const readsWhenHandled: number[] = [];
    await forEachPageAhead(p.read, (page) => page.next, async (page) => {
      readsWhenHandled.push(p.reads.length);
      await new Promise((r) => setTimeout(r, 5));
      handled.push(page.n);
      return true;
    });
    expect(handled).toEqual([0, 1, 2, 3, 4]);
    expect(p.reads).toEqual([undefined, '1', '2', '3', '4']);
    // Page n is handled with page n + 1's read already started; the last has none to start.
    expect(readsWhenHandled).toEqual([2, 3, 4, 5, 5]);
    expect(p.maxInFlight()).toBe(1);
  });

  it('stops when the handler says so, with no read beyond the one in flight', async () => {
    const p = pages(10);
    const handled: number[] = [];
    await forEachPageAhead(p.read, (page) => page.next, async (page) => {
      handled.push(page.n);
      return page.n < 2;
    });
    expect(handled).toEqual([0, 1, 2]);
    expect(p.reads).toEqual([undefined, '1', '2', '3']);
  });

  // The export's next page can fail while the page before waits on a slow client; Node ends
  // the process on a rejection nobody handled by then.
  it('a read that fails while the page before is handled rejects the walk, and never goes unhandled', async () => {
    process.on('unhandledRejection', onUnhandled);
    const p = pages(5, 2);
    const handled: number[] = [];
    const walk = forEachPageAhead(p.read, (page) => page.next, async (page) => {
      handled.push(page.n);
      // Long enough for page 2's read to fail and for Node to look for its handler.
      for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5));
      return true;
    });
    await expect(walk).rejects.toThrow('page 2 failed');
    expect(handled).toEqual([0, 1]);
    expect(unhandled).toEqual([]);
  });
});
