// GET /healthz (the process is alive), /readyz (it can serve: database and migrations),
// /metrics (Prometheus text).
import type { FastifyInstance } from 'fastify';
import { registry } from '../../metrics.ts';
import type { GatewayContext } from '../context.ts';
import { envelope } from '../http-errors.ts';

export function registerHealthRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const readiness = await ctx.readiness();
    if (readiness.ok) return { status: 'ready', checks: readiness.checks };
    const problems = Object.entries(readiness.checks)
      .filter(([, v]) => v !== 'ok')
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    return reply.code(503).send({ ...envelope(503, `Not ready (${problems}).`, 'not_ready'), checks: readiness.checks });
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
