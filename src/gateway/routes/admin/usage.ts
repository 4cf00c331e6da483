// GET /admin/usage (DESIGN 12): counts, tokens, errors and latency percentiles per time bucket
// and group, from the rollups (store/usage.ts), never from a scan of the request rows.
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../../db/client.ts';
import { queryUsage } from '../../../store/usage.ts';
import type { GatewayContext } from '../../context.ts';
import { parseUsageQuery } from '../../request-query.ts';

export function registerUsageRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/usage', async (req) => usageAnswer(ctx.db, req.query));
}

/** The usage answer; `userId` limits it to one user's requests (/v1/me/usage). */
export async function usageAnswer(db: Db, query: unknown, userId?: string) {
  const q = parseUsageQuery(query);
  const data = await queryUsage(db, { ...q, ...(userId !== undefined ? { userId } : {}) });
  return { object: 'usage', bucket: q.bucket, from: q.from.toISOString(), to: q.to.toISOString(), group_by: q.groupBy, data };
}
