// The admin API under /admin (DESIGN 5, 10, 12): every route needs
// `Authorization: Bearer $ADMIN_TOKEN`, checked once for all of them.
import type { FastifyInstance } from 'fastify';
import { bearerMatcher } from '../../../lib/bearer.ts';
import type { GatewayContext } from '../../context.ts';
import { HttpError } from '../../http-errors.ts';
import { registerApiKeyRoutes } from './api-keys.ts';
import { registerModelRoutes } from './models.ts';
import { registerRequestLogRoutes } from './requests.ts';
import { registerUsageRoutes } from './usage.ts';

export function registerAdminRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const isAdmin = ctx.config.ADMIN_TOKEN === undefined ? () => false : bearerMatcher(ctx.config.ADMIN_TOKEN);
  void app.register(
    async (admin) => {
      admin.addHook('onRequest', async (req) => {
        if (!isAdmin(req.headers.authorization)) {
          throw new HttpError(401, 'This endpoint needs "Authorization: Bearer <ADMIN_TOKEN>".', { code: 'invalid_admin_token' });
        }
      });
      registerApiKeyRoutes(admin, ctx);
      registerModelRoutes(admin, ctx);
      registerRequestLogRoutes(admin, ctx);
      registerUsageRoutes(admin, ctx);
    },
    { prefix: '/admin' },
  );
}
