// /admin/api-keys (DESIGN 5, 12): create a key for a user (creating the user if needed; the
// key is in that answer and nowhere else, ever), list keys, change a key's models, revoke a
// key. A revocation or change reaches every gateway within a round trip (API_KEYS_CHANNEL).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import {
  findListedApiKey,
  insertApiKey,
  listApiKeys,
  markApiKeyDeleted,
  updateApiKeyModels,
  type ListedApiKey,
} from '../../../store/api-keys.ts';
import { HttpError } from '../../http-errors.ts';
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

  app.get('/api-keys', async () => ({ object: 'list', data: (await listApiKeys(ctx.db)).map(apiKeyJson) }));

  app.patch('/api-keys/:id', async (req: IdRequest) => {
    const { models } = parseInput(patchKeyBody, jsonBody(req).value);
    const id = keyId(req.params.id);
    if (!(await updateApiKeyModels(ctx.db, id, models))) throw keyNotFound(req.params.id);
    ctx.keys.clear();
    ctx.logger.info({ component: 'admin', keyId: id }, 'api key models changed');
    return apiKeyJson((await findListedApiKey(ctx.db, id))!);
  });

  app.delete('/api-keys/:id', async (req: IdRequest) => {
    const id = keyId(req.params.id);
    const key = await findListedApiKey(ctx.db, id);
    if (!key) throw keyNotFound(req.params.id);
    // Idempotent: revoking a revoked key answers the same.
    if (await markApiKeyDeleted(ctx.db, id)) ctx.logger.info({ component: 'admin', keyId: id, prefix: key.prefix }, 'api key revoked');
    ctx.keys.clear();
    return { id, object: 'api_key', deleted: true };
  });
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const patchKeyBody = z.strictObject({ models: z.array(z.string().min(1).max(200)).max(1_000).nullable() });

const keyNotFound = (id: string) => new HttpError(404, `No API key with id '${id.slice(0, 100)}'.`, { code: 'api_key_not_found', param: 'id' });

/** The key id of the path, or the 404 (a malformed id names no key either). */
function keyId(id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw keyNotFound(id);
  return id.toLowerCase();
}

function apiKeyJson(k: ListedApiKey) {
  return {
    id: k.id,
    object: 'api_key',
    prefix: k.prefix,
    name: k.name,
    user: k.userName,
    user_id: k.userId,
    models: k.allowedModels,
    created_at: k.createdAt.toISOString(),
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
  };
}
