// The admin API under /admin (DESIGN 5, 10, 12): every route needs
// `Authorization: Bearer $ADMIN_TOKEN` or a dashboard session cookie, checked once for all of
// them. A cookie is sent by the browser on its own, so a cookie-authenticated mutation must
// also carry `x-volley-dashboard: 1`: a header no other site's page can add without a CORS
// preflight volley never grants (SameSite=Strict already keeps the cookie off such requests).
// Wrong tokens are counted per client address (failed-attempts.ts): past ten a minute, that
// address's tokens are refused with 429 until the minute is over.
import type { FastifyInstance } from 'fastify';
import { bearerMatcher } from '../../../lib/bearer.ts';
import type { GatewayContext } from '../../context.ts';
import { DASHBOARD_HEADER, sessionChecker } from '../../dashboard-session.ts';
import { HttpError } from '../../http-errors.ts';
import { registerApiKeyRoutes } from './api-keys.ts';
import { registerModelRoutes } from './models.ts';
import { registerRequestLogRoutes } from './requests.ts';
import { registerUsageRoutes } from './usage.ts';

export function registerAdminRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const isAdmin = ctx.config.ADMIN_TOKEN === undefined ? () => false : bearerMatcher(ctx.config.ADMIN_TOKEN);
  const hasSession = sessionChecker(ctx.config.ADMIN_TOKEN);
  void app.register(
    async (admin) => {
      admin.addHook('onRequest', async (req) => {
        const authorization = req.headers.authorization;
        if (authorization !== undefined) {
          const wait = ctx.adminAttempts.waitFor(req.ip);
          if (wait > 0) {
            throw new HttpError(429, 'Too many wrong admin tokens from this address; try again after Retry-After seconds.', {
              code: 'too_many_failed_attempts',
              retryAfterSeconds: wait,
            });
          }
          if (isAdmin(authorization)) return;
          ctx.adminAttempts.failed(req.ip);
        }
        if (!hasSession(req.headers.cookie)) {
          throw new HttpError(401, 'This endpoint needs "Authorization: Bearer <ADMIN_TOKEN>".', { code: 'invalid_admin_token' });
        }
        if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers[DASHBOARD_HEADER] !== '1') {
          throw new HttpError(403, `A change made with a dashboard session needs the header "${DASHBOARD_HEADER}: 1".`, {
            code: 'missing_dashboard_header',
          });
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
