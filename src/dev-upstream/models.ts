import type { Answer } from './answer.ts';

/** Listed by `GET /v1/models`; every other model name is accepted too. */
export const DEV_MODELS = ['dev-chat', 'dev-reasoning', 'dev-embedding'] as const;

/** A fixed creation time (2025-01-01) so the listing is byte-for-byte stable. */
const CREATED = 1_735_689_600;

const OWNER = 'volley-development-upstream';

/** `GET /v1/models`: the fixed development models. */
export function listModels(): Answer {
  return {
    kind: 'json',
    status: 200,
    body: { object: 'list', data: DEV_MODELS.map((id) => ({ id, object: 'model', created: CREATED, owned_by: OWNER })) },
  };
}

/** `GET /v1/models/{id}`: any id exists, since any model name is served. */
export function retrieveModel(id: string): Answer {
  return { kind: 'json', status: 200, body: { id, object: 'model', created: CREATED, owned_by: OWNER } };
}
