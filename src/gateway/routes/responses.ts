// GET /v1/responses/{id}, POST /v1/responses/{id}/cancel, DELETE /v1/responses/{id}.
// A malformed id, an unknown one, a deleted one and someone else's all answer the same 404
// (never 403), so a client cannot learn that a response exists.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isTerminal } from '../../db/schema/requests.ts';
import { InvalidResponseId } from '../../errors.ts';
import { parseResponseId, toResponseId } from '../../responses/response-id.ts';
import { toResponseObject } from '../../responses/response-object.ts';
import { pageOfItems, responseInputItems } from '../../responses/input-items.ts';
import { parseInput } from '../validate.ts';
import { z } from 'zod';
import { findRequestDetail } from '../../store/requests/find.ts';
import { markRequestDeleted } from '../../store/requests/delete.ts';
import type { RequestDetail } from '../../store/requests/rows.ts';
import { authenticate } from '../auth.ts';
import type { GatewayContext } from '../context.ts';
import { HttpError, badRequest, responseNotFound } from '../http-errors.ts';
import { POLL_AFTER_HEADER, POLL_AFTER_MS } from '../response-status.ts';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const inputItemsQuery = z.object({
  after: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
});

export function registerResponseRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/v1/responses/:id', async (req: IdRequest, reply) => {
    const detail = await ownedRequest(ctx, req);
    if (!isTerminal(detail.state)) reply.header(POLL_AFTER_HEADER, POLL_AFTER_MS);
    return toResponseObject(detail);
  });

  app.get('/v1/responses/:id/input_items', async (req: IdRequest) => {
    const detail = await ownedRequest(ctx, req);
    const query = parseInput(inputItemsQuery, req.query, 'query');
    return pageOfItems(responseInputItems(detail.body, detail.id), query);
  });

  app.post('/v1/responses/:id/cancel', async (req: IdRequest, reply) => {
    let detail = await ownedRequest(ctx, req);
    if (!detail.background) {
      throw badRequest('Only responses created with background=true can be cancelled.', 'response_id', 'not_background');
    }
    // Idempotent: cancelling a finished (or already cancelled) response returns it as it is.
    if (!isTerminal(detail.state)) {
      if (ctx.cancelRequest === undefined) {
        throw new HttpError(501, 'Cancelling is not available on this gateway.', { code: 'not_implemented' });
      }
      // Canceled now, or it became terminal on its own meanwhile (cancelRequest says
      // already-terminal, it does not throw): either way, answer with the row as it is.
      await ctx.cancelRequest(detail.id);
      detail = (await findRequestDetail(ctx.db, detail.id)) ?? detail;
    }
    if (!isTerminal(detail.state)) reply.header(POLL_AFTER_HEADER, POLL_AFTER_MS);
    return toResponseObject(detail);
  });

  app.delete('/v1/responses/:id', async (req: IdRequest) => {
    const detail = await ownedRequest(ctx, req);
    // A concurrent DELETE that won is the same outcome for this caller.
    await markRequestDeleted(ctx.db, detail.id);
    return { id: toResponseId(detail.id), object: 'response', deleted: true };
  });
}

/** The caller's own, not deleted request behind the `:id` parameter; else a 404. */
async function ownedRequest(ctx: GatewayContext, req: IdRequest): Promise<RequestDetail> {
  const owner = await authenticate(ctx.keys, req.headers.authorization);
  const id = req.params.id;
  let uuid: string;
  try {
    uuid = parseResponseId(id);
  } catch (err) {
    if (err instanceof InvalidResponseId) throw responseNotFound(id);
    throw err;
  }
  const detail = await findRequestDetail(ctx.db, uuid);
  // store: false keeps nothing to return (DESIGN 11): it is not found, like the others.
  if (detail === undefined || detail.deletedAt !== null || detail.createdBy !== owner.userId || !detail.store) {
    throw responseNotFound(id);
  }
  return detail;
}
