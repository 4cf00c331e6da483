// /admin/requests (DESIGN 12): the request log with filters and cursor paging, one request with
// its bodies, and the export of every match (CSV or JSONL), streamed page by page so memory
// stays flat however many rows match.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findLoggedRequest, listRequests, metadataIndexFits, type RequestFilters } from '../../../store/request-log.ts';
import type { GatewayContext } from '../../context.ts';
import { HttpError } from '../../http-errors.ts';
import { csvHeader, csvLine, requestDetailJson, requestJson } from '../../request-json.ts';
import { parseExportQuery, parseListQuery, requestIdOf } from '../../request-query.ts';
import type { Executor } from '../../../db/client.ts';
import { forEachPageAhead } from '../../../lib/read-ahead.ts';
import { writeWhenReady } from '../../../lib/write-when-ready.ts';

/** Rows per query of the export: large enough to amortise the query, small enough to hold. */
const EXPORT_PAGE = 1_000;
/**
 * Exports running at once in one process. Each keeps a page query in flight nearly all the
 * time (it reads the next page while it writes one), on the pool the gateway's other reads
 * share (10 connections): more would queue those reads behind bulk ones.
 */
export const MAX_EXPORTS = 2;

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

export function registerRequestLogRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/requests', async (req) => requestLogPage(ctx.db, req.query));
  let exporting = 0;
  app.get('/requests/export', async (req, reply) => {
    const { filters, format } = parseExportQuery(req.query);
    if (exporting >= MAX_EXPORTS) {
      throw new HttpError(503, `${MAX_EXPORTS} exports are running on this process. Please retry when one has finished.`, {
        code: 'too_many_exports',
        retryAfterSeconds: 5,
      });
    }
    exporting++;
    try {
      await exportRequests(ctx.db, filters, format, reply);
    } finally {
      exporting--;
    }
    return reply;
  });
  app.get('/requests/:id', async (req: IdRequest) => {
    const id = requestIdOf(req.params.id);
    const row = id === undefined ? undefined : await findLoggedRequest(ctx.db, id);
    if (!row) throw requestNotFound(req.params.id);
    return requestDetailJson(row);
  });
}

/** One page of the log as the API answers it; `ownerId` limits it to one user's rows (/v1/me). */
export async function requestLogPage(db: Executor, query: unknown, ownerId?: string) {
  const { filters, limit, cursor } = parseListQuery(query);
  const page = await listRequests(db, { ...filters, ...(ownerId !== undefined ? { ownerId } : {}) }, { limit, ...(cursor ? { cursor } : {}) });
  return { object: 'list', data: page.rows.map(requestJson), next_cursor: page.next ?? null, has_more: page.next !== undefined };
}

export const requestNotFound = (id: string) =>
  new HttpError(404, `No request with id '${id.slice(0, 100)}'.`, { code: 'request_not_found', param: 'id' });

/**
 * Writes every matching row, newest first, a page query at a time; while a page is written
 * (waiting for the socket to drain), the next one is read, and no further. A client that
 * leaves stops it.
 */
async function exportRequests(db: Executor, filters: RequestFilters, format: 'csv' | 'jsonl', reply: FastifyReply): Promise<void> {
  const res = reply.raw;
  reply.hijack();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  res.writeHead(200, {
    'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="volley-requests-${stamp}.${format}"`,
    'cache-control': 'no-store',
  });
  let gone = false;
  res.once('close', () => {
    gone = !res.writableFinished;
  });
  const write = (text: string) => writeWhenReady(res, text);
  try {
    if (format === 'csv') await write(csvHeader());
    // Every page has the same filters: the metadata plan is decided once, not per page.
    const metadataIndexed = await metadataIndexFits(db, filters);
    await forEachPageAhead(
      (cursor) => listRequests(db, filters, { limit: EXPORT_PAGE, metadataIndexed, ...(cursor ? { cursor } : {}) }),
      (page) => page.next,
      async (page) => {
        let chunk = '';
        for (const row of page.rows) {
          const json = requestJson(row);
          chunk += format === 'csv' ? csvLine(json) : `${JSON.stringify(json)}\n`;
        }
        if (chunk !== '') await write(chunk);
        return !gone && !res.destroyed;
      },
    );
    res.end();
  } catch (err) {
    // Headers are out: all that is left is to cut the download, which the client sees as incomplete.
    res.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}
