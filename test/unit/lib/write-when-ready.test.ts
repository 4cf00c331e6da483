import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeWhenReady } from '../../../src/lib/write-when-ready.ts';

const settled = (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((r) => setImmediate(() => r(false)))]);

describe('writeWhenReady', () => {
  it('resolves at once while the stream has room', async () => {
    const s = new PassThrough({ highWaterMark: 1024 });
    expect(await settled(writeWhenReady(s, 'x'))).toBe(true);
  });

  it('waits for drain when the buffer is full, and resolves once it is read', async () => {
    const s = new PassThrough({ highWaterMark: 4 });
    const p = writeWhenReady(s, 'more than four');
    expect(await settled(p)).toBe(false);
    s.resume();
    await p;
    expect(s.writableLength).toBe(0);
  });

  it('resolves when the stream closes while it waits (the reader left)', async () => {
    const s = new PassThrough({ highWaterMark: 4 });
    const p = writeWhenReady(s, 'more than four');
    s.destroy();
    await p;
  });

  // The export's client can leave while a page is read; the write after that must not hang.
  it('resolves at once on a stream already destroyed', async () => {
    const s = new PassThrough({ highWaterMark: 4 });
    s.on('error', () => undefined);
    s.destroy();
    await new Promise((r) => setImmediate(r)); // 'close' has fired
    expect(await settled(writeWhenReady(s, 'more than four'))).toBe(true);
  });
});
