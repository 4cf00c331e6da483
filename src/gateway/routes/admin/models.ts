// /admin/models (DESIGN 10): where each model is served and how. A change reaches every
// process's catalog within a round trip (MODELS_CHANNEL) and the hot path reads it from
// memory.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MODEL_APIS, type ModelRow } from '../../../db/schema/index.ts';
import { deleteModel, insertModel, listModels, updateModel } from '../../../store/models.ts';
import { jsonBody } from '../../body.ts';
import type { GatewayContext } from '../../context.ts';
import { HttpError } from '../../http-errors.ts';
import { parseInput } from '../../validate.ts';

const url = z.url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');
/** A variable name: the key itself is never stored, only where to read it. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');

const modelFields = {
  upstream_url: url,
  api: z.enum(MODEL_APIS).default('responses'),
  upstream_api_key_env: envName.nullable().optional(),
  concurrency: z.number().int().min(1).max(100_000).nullable().optional(),
};
const createModel = z.strictObject({ name: z.string().trim().min(1).max(200), ...modelFields });
const patchModel = z.strictObject({
  upstream_url: modelFields.upstream_url.optional(),
  api: z.enum(MODEL_APIS).optional(),
  upstream_api_key_env: modelFields.upstream_api_key_env,
  concurrency: modelFields.concurrency,
});

type NameRequest = FastifyRequest<{ Params: { name: string } }>;

export function registerModelRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.post('/models', async (req, reply) => {
    const m = parseInput(createModel, jsonBody(req).value);
    const row = await insertModel(ctx.db, {
      name: m.name,
      upstreamUrl: m.upstream_url,
      api: m.api,
      upstreamApiKeyEnv: m.upstream_api_key_env ?? null,
      concurrency: m.concurrency ?? null,
    });
    if (!row) throw new HttpError(409, `A model named '${m.name.slice(0, 200)}' exists; PATCH it instead.`, { code: 'model_exists', param: 'name' });
    await ctx.catalog.reload();
    return reply.code(201).send(modelJson(row));
  });

  app.get('/models', async () => ({ object: 'list', data: (await listModels(ctx.db)).map(modelJson) }));

  app.patch('/models/:name', async (req: NameRequest) => {
    const m = parseInput(patchModel, jsonBody(req).value);
    const row = await updateModel(ctx.db, req.params.name, {
      ...(m.upstream_url !== undefined ? { upstreamUrl: m.upstream_url } : {}),
      ...(m.api !== undefined ? { api: m.api } : {}),
      ...(m.upstream_api_key_env !== undefined ? { upstreamApiKeyEnv: m.upstream_api_key_env } : {}),
      ...(m.concurrency !== undefined ? { concurrency: m.concurrency } : {}),
    });
    if (!row) throw modelNotFound(req.params.name);
    await ctx.catalog.reload();
    return modelJson(row);
  });

  app.delete('/models/:name', async (req: NameRequest) => {
    if (!(await deleteModel(ctx.db, req.params.name))) throw modelNotFound(req.params.name);
    await ctx.catalog.reload();
    return { name: req.params.name, object: 'model', deleted: true };
  });
}

const modelNotFound = (name: string) =>
  new HttpError(404, `No model named '${name.slice(0, 200)}'.`, { code: 'model_not_found', param: 'name' });

function modelJson(row: ModelRow) {
  return {
    object: 'model',
    name: row.name,
    upstream_url: row.upstreamUrl,
    api: row.api,
    upstream_api_key_env: row.upstreamApiKeyEnv,
    concurrency: row.concurrency,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
