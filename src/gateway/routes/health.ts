// GET /healthz (the process is alive), /readyz (it can serve: database and migrations),
// /metrics (Prometheus text; with METRICS_TOKEN set, only with `Authorization: Bearer` and it).
import type { FastifyInstance } from 'fastify';
import { registry } from '../../metrics.ts';
import type { GatewayContext } from '../context.ts';
import { envelope, HttpError } from '../http-errors.ts';
import { bearerMatcher } from '../../lib/bearer.ts';

const metricsTokenRequired = () =>
  new HttpError(401, 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".', { code: 'invalid_metrics_token' });

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

  const authorized = ctx.config.METRICS_TOKEN === undefined ? () => true : bearerMatcher(ctx.config.METRICS_TOKEN);
  app.get('/metrics', async (req, reply) => {
    if (!authorized(req.headers.authorization)) throw metricsTokenRequired();
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
