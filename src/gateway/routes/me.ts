// Self-service views for an API key's user (DESIGN 12): /v1/me/usage and /v1/me/requests, the
// shapes of /admin/usage and /admin/requests limited to the key's own user's rows.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { findLoggedRequest } from '../../store/request-log.ts';
import { authenticate } from '../auth.ts';
import type { GatewayContext } from '../context.ts';
import { requestDetailJson } from '../request-json.ts';
import { requestIdOf } from '../request-query.ts';
import { requestLogPage, requestNotFound } from './admin/requests.ts';
import { usageAnswer } from './admin/usage.ts';

export function registerMeRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const owner = async (req: FastifyRequest) => (await authenticate(ctx.keys, req.headers.authorization)).userId;
  app.get('/v1/me/usage', async (req) => usageAnswer(ctx.db, req.query, await owner(req)));
  app.get('/v1/me/requests', async (req) => requestLogPage(ctx.db, req.query, await owner(req)));
  app.get('/v1/me/requests/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const userId = await owner(req);
    const id = requestIdOf(req.params.id);
    const row = id === undefined ? undefined : await findLoggedRequest(ctx.db, id, userId);
    if (!row) throw requestNotFound(req.params.id);
    return requestDetailJson(row);
  });
}
