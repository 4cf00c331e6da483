/**
 * Walks a paged read, reading each page while the one before it is handled, so the reader
 * (a database) and the handler (formatting, a socket) work at once; never more than one
 * page ahead. `handle` returns false to stop (a client that left): the read in flight is
 * then dropped. A read that fails rejects the walk when its turn comes, and never goes
 * unhandled meanwhile (Node ends the process on an unhandled rejection, and the handler of
 * the page before may wait a long time on a slow client).
 */
export async function forEachPageAhead<P>(
  read: (cursor: string | undefined) => Promise<P>,
  cursorAfter: (page: P) => string | undefined,
  handle: (page: P) => Promise<boolean>,
): Promise<void> {
  const ahead = (cursor: string | undefined): Promise<P> => {
    const page = read(cursor);
    page.catch(() => undefined); // handled: the await below still sees the failure
    return page;
  };
  let next: Promise<P> | undefined = ahead(undefined);
  while (next !== undefined) {
    const page: P = await next;
    const cursor = cursorAfter(page);
    next = cursor === undefined ? undefined : ahead(cursor);
    if (!(await handle(page))) return;
  }
}
