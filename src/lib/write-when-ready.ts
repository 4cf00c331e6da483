import type { Writable } from 'node:stream';

/**
 * Writes `text` and resolves when the stream takes more: at once, or on 'drain', or when the
 * stream closes (a client that left). A stream already destroyed resolves at once, because
 * its 'close' has fired and no 'drain' will come: waiting for either would never end, and
 * would keep the caller (and what it holds) alive.
 */
export function writeWhenReady(stream: Writable, text: string): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  if (stream.write(text)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
