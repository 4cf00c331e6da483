// What the gateway reads from a create request's body (POST /v1/responses,
// /v1/chat/completions, /v1/embeddings) to route it. Everything else in the body is the
// upstream's business and passes through untouched. Hand-written checks rather than a zod
// schema: this runs on every request, and only a handful of fields matter here.
import { SERVICE_TIERS, type ServiceTier } from '../db/schema/requests.ts';
import { isRecord } from '../responses/json.ts';
import { badRequest } from './http-errors.ts';

export const CREATE_ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings'] as const;
export type CreateEndpoint = (typeof CREATE_ENDPOINTS)[number];

/** DESIGN 1.1: the four request paths. */
export type RequestPath = 'realtime' | 'background' | 'flex-background' | 'flex-blocking';

export interface CreateRequest {
  model: string;
  stream: boolean;
  background: boolean;
  /** The tier recorded on the row; an absent or unknown tier on chat/embeddings is `default`. */
  serviceTier: ServiceTier;
  path: RequestPath;
  /** `store: false` on /v1/responses (DESIGN 11): the bodies are not kept after the answer. */
  store: boolean;
  /** `previous_response_id` on /v1/responses, checked by the caller against the store. */
  previousResponseId?: string;
}

const TIERS: ReadonlySet<string> = new Set(SERVICE_TIERS);

/** Validates the routing fields of a parsed JSON body; throws a 400 HttpError naming the field. */
export function readCreateRequest(endpoint: CreateEndpoint, body: unknown): CreateRequest {
  if (!isRecord(body)) throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
  const { model, stream, background, service_tier: tier } = body;
  if (model === undefined || model === null) {
    throw badRequest('You must provide a model parameter.', 'model', 'missing_required_parameter');
  }
  if (typeof model !== 'string' || model === '') {
    throw badRequest("Invalid type for 'model': expected a non-empty string.", 'model', 'invalid_type');
  }
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw badRequest("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type');
  }
  const streaming = stream === true;
  if (endpoint !== '/v1/responses') {
    // Only the Responses API honours background and service_tier here (DESIGN 1.1); the rest
    // is passed to the upstream as sent, and recorded as the default tier unless it is a known one.
    const recorded = typeof tier === 'string' && TIERS.has(tier) ? (tier as ServiceTier) : 'default';
    return { model, stream: streaming, background: false, serviceTier: recorded, path: 'realtime', store: true };
  }
  if (background !== undefined && background !== null && typeof background !== 'boolean') {
    throw badRequest("Invalid type for 'background': expected a boolean.", 'background', 'invalid_type');
  }
  if (tier !== undefined && tier !== null && (typeof tier !== 'string' || !TIERS.has(tier))) {
    throw badRequest(
      `Invalid value for 'service_tier': expected one of ${SERVICE_TIERS.map((t) => `'${t}'`).join(', ')}.`,
      'service_tier',
      'invalid_value',
    );
  }
  const serviceTier = (tier ?? 'default') as ServiceTier;
  const isBackground = background === true;
  const flex = serviceTier === 'flex';
  const path: RequestPath = flex ? (isBackground ? 'flex-background' : 'flex-blocking') : isBackground ? 'background' : 'realtime';
  // Background and flex requests are run by the request processor and answered as a whole
  // response object; there is no upstream stream to relay.
  if (streaming && path !== 'realtime') {
    throw badRequest(
      "Streaming is not supported for background or flex requests; omit 'stream' and retrieve the response instead.",
      'stream',
      'unsupported_parameter',
    );
  }
  const { store, previous_response_id: previous } = body;
  if (store !== undefined && store !== null && typeof store !== 'boolean') {
    throw badRequest("Invalid type for 'store': expected a boolean.", 'store', 'invalid_type');
  }
  // The request processor runs background and flex requests from their stored body, and a
  // background response is fetched later: neither can do without storing it (the OpenAI
  // platform refuses background with store false too).
  if (store === false && path !== 'realtime') {
    throw badRequest(
      `'store: false' cannot be used with ${isBackground ? "'background: true'" : "service_tier 'flex'"}: the request must be stored to be run later.`,
      'store',
      'invalid_value',
    );
  }
  if (previous !== undefined && previous !== null && typeof previous !== 'string') {
    throw badRequest("Invalid type for 'previous_response_id': expected a string.", 'previous_response_id', 'invalid_type');
  }
  return {
    model,
    stream: streaming,
    background: isBackground,
    serviceTier,
    path,
    store: store !== false,
    ...(typeof previous === 'string' ? { previousResponseId: previous } : {}),
  };
}
