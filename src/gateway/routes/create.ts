// POST /v1/responses, /v1/chat/completions, /v1/embeddings: authenticate, read the routing
// fields, then the four request paths of DESIGN 1.1 (realtime.ts, queued.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { newId } from '../../ids.ts';
import { epochNow } from '../../lib/clock.ts';
import { metadataProblem } from '../../responses/record-facts.ts';
import { parseJson } from '../../responses/json.ts';
import { storableText } from '../../responses/storable.ts';
import { badRequest } from '../http-errors.ts';
import { findRequestState } from '../../store/requests/find.ts';
import { REQUEST_MARKER_HEADER, verifyRequestMarker } from '../../upstream/request-marker.ts';
import { authenticate, checkModel } from '../auth.ts';
import { jsonBody, type JsonBody } from '../body.ts';
import type { CreateCall } from '../create-call.ts';
import { CREATE_ENDPOINTS, readCreateRequest, type CreateEndpoint } from '../create-request.ts';
import type { GatewayContext } from '../context.ts';
import { IDEMPOTENCY_HEADER, serveIdempotent } from '../idempotency.ts';
import { serveBackground, serveFlexBlocking } from '../queued.ts';
import { serveRealtime } from '../realtime.ts';
import { relay } from '../relay.ts';

export function registerCreateRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  for (const endpoint of CREATE_ENDPOINTS) {
    app.post(endpoint, (req, reply) => create(ctx, endpoint, req, reply));
  }
}

async function create(ctx: GatewayContext, endpoint: CreateEndpoint, req: FastifyRequest, reply: FastifyReply) {
  const owner = await authenticate(ctx.keys, req.headers.authorization);
  const body = jsonBody(req);
  const request = readCreateRequest(endpoint, body.value);
  checkModel(owner, request.model);

  if (await isTrackedElsewhere(ctx, req, body)) {
    // A call this deployment already tracks (its processor, or a volley gateway in front of
    // this one): proxy, but do not track twice.
    const route = ctx.catalog.route(request.model);
    await relay({ upstream: ctx.upstream, reply, endpoint, target: route, path: endpoint.slice('/v1'.length), body: body.raw });
    return reply;
  }
  const metadata = headerMetadata(req.headers[METADATA_HEADER]);
  const call: CreateCall = {
    endpoint,
    req,
    reply,
    owner,
    request,
    body,
    requestId: newId(),
    // reply.elapsedTime counts from Fastify's receipt of the request (its onRequest), on the monotonic clock.
    receivedAt: epochNow() - reply.elapsedTime,
    ...(metadata ? { metadata } : {}),
  };
  req.volleyRequestId = call.requestId;
  const idempotencyKey = req.headers[IDEMPOTENCY_HEADER];
  if (idempotencyKey !== undefined) await serveIdempotent(ctx, call, idempotencyKey, (c) => serve(ctx, c));
  else await serve(ctx, call);
  return reply;
}

/** The four request paths. */
async function serve(ctx: GatewayContext, call: CreateCall): Promise<void> {
  switch (call.request.path) {
    case 'realtime':
      return serveRealtime(ctx, call);
    case 'background':
    case 'flex-background':
      return serveBackground(ctx, call);
    case 'flex-blocking':
      return serveFlexBlocking(ctx, call);
  }
}

/**
 * Whether the call carries a marker this deployment signed for this very body, still fresh,
 * for a request that is `processing` right now: only then is it a tracked call passing
 * through (request-marker.ts). Anything else (no marker, a forged, expired or moved one, a
 * replay after its request ended) is tracked like any call.
 */
async function isTrackedElsewhere(ctx: GatewayContext, req: FastifyRequest, body: JsonBody): Promise<boolean> {
  const requestId = verifyRequestMarker(ctx.markerKey, req.headers[REQUEST_MARKER_HEADER], body.raw);
  if (requestId === undefined) return false;
  return (await findRequestState(ctx.db, requestId)) === 'processing';
}

/** Metadata for any endpoint, beside the Responses body's own (DESIGN 12). */
export const METADATA_HEADER = 'x-volley-metadata';

/** The header's JSON map, or a 400 naming the header when it breaks the limits. */
function headerMetadata(value: string | string[] | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const parsed = parseJson(text);
  const problem = parsed === undefined ? 'must be a JSON object of strings' : metadataProblem(parsed);
  if (problem !== undefined) throw badRequest(`Invalid '${METADATA_HEADER}' header: it ${problem}.`, METADATA_HEADER, 'invalid_metadata');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, string>)) out[storableText(k)] = storableText(v);
  return out;
}
