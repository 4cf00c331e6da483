import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../../src/lib/coalescer.ts';

describe('Coalescer', () => {
  it('flushes a lone item at once and groups items that arrive while flushes are in flight', async () => {
    const flushed: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new Coalescer<number>(
      async (items) => {
        flushed.push(items);
        if (flushed.length === 1) await gate;
      },
      { maxInFlight: 1 },
    );
    const first = c.add(1);
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => c.add(n));
    await new Promise((r) => setImmediate(r));
    expect(flushed).toHaveLength(1); // waiting for the in-flight flush
    release();
    await Promise.all([first, ...rest]);
    expect(flushed).toEqual([[1], [2, 3, 4]]);
  });

  it('caps a flush at maxBatch', async () => {
    const sizes: number[] = [];
    const c = new Coalescer<number>(async (items) => void sizes.push(items.length), { maxBatch: 3, maxInFlight: 1 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => c.add(i)));
    expect(sizes).toEqual([3, 3, 2]);
  });

  it('rejects every item of a failed flush and keeps serving later items', async () => {
    let fail = true;
    const c = new Coalescer<string>(async () => {
      if (fail) throw new Error('database down');
    });
    const results = await Promise.allSettled([c.add('a'), c.add('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(c.add('c')).resolves.toBeUndefined();
  });

  it('drain waits for everything added so far', async () => {
    let done = 0;
    const c = new Coalescer<number>(async (items) => {
      await new Promise((r) => setTimeout(r, 20));
      done += items.length;
    });
    void c.add(1);
    void c.add(2);
    await c.drain();
    expect(done).toBe(2);
    expect(c.size).toBe(0);
  });

  it('with lingerMs, waits for company before flushing, and drain flushes at once', async () => {
    const flushed: number[][] = [];
    const c = new Coalescer<number>(async (items) => void flushed.push(items), { lingerMs: 60_000, maxBatch: 3 });
    const a = c.add(1);
    const b = c.add(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toEqual([]); // lingering
    await c.drain();
    await Promise.all([a, b]);
    expect(flushed).toEqual([[1, 2]]);
    // A full batch does not wait for the linger.
    await Promise.all([c.add(3), c.add(4), c.add(5)]);
    expect(flushed).toEqual([[1, 2], [3, 4, 5]]);
  });

  it('with lingerMs, items that arrive during a flush linger too instead of going out one by one', async () => {
    const { c, flushed, release } = holdingFirstFlush(30);
    const first = c.add(1);
    await new Promise((r) => setTimeout(r, 50)); // [1] is out and held
    const rest = [2, 3].map((n) => c.add(n));
    release();
    await first;
    rest.push(c.add(4));
    await new Promise((r) => setTimeout(r, 5));
    expect(flushed).toEqual([[1]]); // 2 and 3 did not chase the finished flush
    await Promise.all(rest);
    expect(flushed).toEqual([[1], [2, 3, 4]]);
  });

  it('with lingerMs, a linger that ran out while every slot was busy goes with the next free slot', async () => {
    const { c, flushed, release } = holdingFirstFlush(40);
    const first = c.add(1);
    await new Promise((r) => setTimeout(r, 60));
    const second = c.add(2);
    await new Promise((r) => setTimeout(r, 80)); // its linger is over; the only slot is busy
    expect(flushed).toEqual([[1]]);
    release();
    await first;
    // Flushed as soon as the slot is free, not after another linger.
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([[1], [2]]);
    await second;
  });
});

/** A lingering coalescer with one flush slot, whose flush of item 1 is held until `release()`. */
function holdingFirstFlush(lingerMs: number) {
  const flushed: number[][] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const c = new Coalescer<number>(async (items) => {
    flushed.push(items);
    if (items[0] === 1) await held;
  }, { lingerMs, maxInFlight: 1 });
  return { c, flushed, release };
}
