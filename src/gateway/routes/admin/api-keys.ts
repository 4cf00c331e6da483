// POST /admin/api-keys: creates a key for a user (creating the user if needed); the key is in
// this answer and nowhere else, ever.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { insertApiKey } from '../../../store/api-keys.ts';
import { findOrCreateUser } from '../../../store/users.ts';
import { jsonBody } from '../../body.ts';
import type { GatewayContext } from '../../context.ts';
import { parseInput } from '../../validate.ts';

const createKeyBody = z.object({
  user: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(200).optional(),
  /** Models the key may call; omitted or null: every model. */
  models: z.array(z.string().min(1)).nullable().optional(),
});

export function registerApiKeyRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.post('/api-keys', async (req) => {
    const { user: userName, name, models } = parseInput(createKeyBody, jsonBody(req).value);
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
