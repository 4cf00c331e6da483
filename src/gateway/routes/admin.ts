// POST /admin/api-keys: creates a key for a user (creating the user if needed). Guarded by
// ADMIN_TOKEN; the key is in this answer and nowhere else, ever.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Validation } from '../../errors.ts';
import { insertApiKey } from '../../store/api-keys.ts';
import { findOrCreateUser } from '../../store/users.ts';
import { bearerMatcher } from '../../lib/bearer.ts';
import { jsonBody } from '../body.ts';
import type { GatewayContext } from '../context.ts';
import { HttpError } from '../http-errors.ts';

const createKeyBody = z.object({
  user: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(200).optional(),
  /** Models the key may call; omitted or null: every model. */
  models: z.array(z.string().min(1)).nullable().optional(),
});

export function registerAdminRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const isAdmin = ctx.config.ADMIN_TOKEN === undefined ? () => false : bearerMatcher(ctx.config.ADMIN_TOKEN);

  app.post('/admin/api-keys', async (req) => {
    if (!isAdmin(req.headers.authorization)) {
      throw new HttpError(401, 'This endpoint needs "Authorization: Bearer <ADMIN_TOKEN>".', { code: 'invalid_admin_token' });
    }
    const parsed = createKeyBody.safeParse(jsonBody(req).value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new Validation(`Invalid request: ${issues.map((i) => `${i.path || 'body'}: ${i.message}`).join('; ')}`, issues);
    }
    const { user: userName, name, models } = parsed.data;
    const user = await findOrCreateUser(ctx.db, userName);
    const key = await insertApiKey(ctx.db, {
      userId: user.id,
      ...(name !== undefined ? { name } : {}),
      allowedModels: models ?? null,
    });
    ctx.logger.info({ component: 'admin', keyId: key.id, prefix: key.prefix, userId: user.id }, 'api key created');
    return { id: key.id, key: key.key, user_id: user.id, prefix: key.prefix, models: key.allowedModels };
  });
}
