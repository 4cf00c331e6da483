// POST /v1/responses, /v1/chat/completions, /v1/embeddings: the four request paths of
// DESIGN 1.1.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WaitTimeout } from '../../errors.ts';
import { newId } from '../../ids.ts';
import type { CreateResponsePayload } from '../../jobs/definitions.ts';
import { toResponseId } from '../../responses/response-id.ts';
import { newRequestDetail, toResponseObject, type ResponseObject } from '../../responses/response-object.ts';
import type { ApiKeyOwner } from '../../store/api-keys.ts';
import { findRequestState } from '../../store/requests/find.ts';
import { authenticate, checkModel } from '../auth.ts';
import { jsonBody, type JsonBody } from '../body.ts';
import type { GatewayContext } from '../context.ts';
import { CREATE_ENDPOINTS, readCreateRequest, type CreateEndpoint, type CreateRequest } from '../create-request.ts';
import { REQUEST_MARKER_HEADER, verifyRequestMarker } from '../../upstream/request-marker.ts';
import { DURABILITY_POLICIES } from '../durability.ts';
import { HttpError, envelope, trackingUnavailable } from '../http-errors.ts';
import { RESPONSE_ID_HEADER, held, relay, type RelayResult } from '../relay.ts';
import { POLL_AFTER_HEADER, POLL_AFTER_MS, statusForResponse } from '../response-status.ts';

const INTERNAL_ERROR = envelope(500, 'The server had an error while processing your request.', 'internal_error');

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
    await relay({ upstream: ctx.upstream, reply, endpoint, model: request.model, body: body.raw });
    return reply;
  }
  switch (request.path) {
    case 'realtime':
      return realtime(ctx, endpoint, req, reply, owner, request, body);
    case 'background':
    case 'flex-background':
      return background(ctx, endpoint, req, reply, owner, request, body);
    case 'flex-blocking':
      return flexBlocking(ctx, endpoint, req, reply, owner, request, body);
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

/** Path 1: create-response durable before the reply (DURABILITY says how), complete-response after it. */
async function realtime(
  ctx: GatewayContext,
  endpoint: CreateEndpoint,
  req: FastifyRequest,
  reply: FastifyReply,
  owner: ApiKeyOwner,
  request: CreateRequest,
  body: JsonBody,
) {
  const requestId = newId();
  req.volleyRequestId = requestId;
  const startedAt = new Date();
  const created: CreateResponsePayload = {
    requestId,
    batchId: newId(),
    body: body.text,
    model: request.model,
    endpoint,
    serviceTier: request.serviceTier,
    createdBy: owner.userId,
    apiKeyId: owner.id,
  };
  // Held from its record until its completion is stored: the sweeper leaves its row alone.
  ctx.held.hold(requestId);
  let completing: Promise<void> | undefined;
  try {
    ({ completing } = await realtimeHeld(ctx, endpoint, reply, request, body, created, startedAt));
  } finally {
    if (completing) void completing.finally(() => ctx.held.release(requestId));
    else ctx.held.release(requestId);
  }
  return reply;
}

/**
 * The held part of path 1; once the reply is sent, resolves with the completion's storing
 * (wrapped: awaiting a promise of a promise would wait for the storing too).
 */
async function realtimeHeld(
  ctx: GatewayContext,
  endpoint: CreateEndpoint,
  reply: FastifyReply,
  request: CreateRequest,
  body: JsonBody,
  created: CreateResponsePayload,
  startedAt: Date,
): Promise<{ completing: Promise<void> }> {
  const { requestId } = created;
  const recording = ctx.jobs.enqueueCreateResponse(created).then(
    () => void (ctx.recording.healthy = true),
    (err: unknown) => {
      ctx.recording.healthy = false;
      throw err;
    },
  );
  let recorded: Promise<void> | undefined;
  if (!DURABILITY_POLICIES[ctx.config.DURABILITY].createBeforeProxy && ctx.recording.healthy) {
    // The relay holds the reply until the record is committed, and refuses if it fails.
    recorded = recording;
    recording.catch(() => {});
  } else {
    try {
      await held(recording);
    } catch (err) {
      ctx.logger.error({ err, requestId }, 'could not enqueue create-response; request refused');
      throw trackingUnavailable();
    }
  }
  let result: RelayResult;
  try {
    result = await relay({
      upstream: ctx.upstream,
      reply,
      endpoint,
      model: request.model,
      body: body.raw,
      responseId: toResponseId(requestId),
      requestId,
      ...(recorded ? { recorded } : {}),
    });
    if (result.notRecorded !== undefined) {
      // The upstream had the request and was cut off; complete-response still records the
      // 503 the client got, retrying until the database takes it.
      ctx.logger.error({ err: result.notRecorded, requestId }, 'could not record create-response; upstream call aborted, 503 sent');
    }
  } catch (err) {
    // A bug in the relay, not an upstream failure (those are answers). The row must still
    // become terminal, and the hijacked reply must not hang.
    ctx.logger.error({ err, requestId }, 'relay failed');
    if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' });
    reply.raw.end(JSON.stringify(INTERNAL_ERROR));
    result = { status: 500, body: JSON.stringify(INTERNAL_ERROR) };
  }
  const { body: requestBody, ...rest } = created;
  const completing = ctx.tracker.complete({
    ...rest,
    requestBody,
    statusCode: result.status,
    responseBody: result.body,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  });
  return { completing };
}

/** Paths 2 and 3: a durable pending row and process-request job, answered 202 queued. */
async function background(
  ctx: GatewayContext,
  endpoint: CreateEndpoint,
  req: FastifyRequest,
  reply: FastifyReply,
  owner: ApiKeyOwner,
  request: CreateRequest,
  body: JsonBody,
) {
  const requestId = await enqueueBatchOf1(ctx, endpoint, req, owner, request, body);
  const queued = toResponseObject(
    newRequestDetail({ id: requestId, model: request.model, serviceTier: request.serviceTier, background: true, body: body.text }),
  );
  return reply.code(202).header(RESPONSE_ID_HEADER, queued.id).header(POLL_AFTER_HEADER, POLL_AFTER_MS).send(queued);
}

/** Path 4: as 3, then hold the connection until the request is terminal (or the wait times out). */
async function flexBlocking(
  ctx: GatewayContext,
  endpoint: CreateEndpoint,
  req: FastifyRequest,
  reply: FastifyReply,
  owner: ApiKeyOwner,
  request: CreateRequest,
  body: JsonBody,
) {
  const requestId = await enqueueBatchOf1(ctx, endpoint, req, owner, request, body);
  const responseId = toResponseId(requestId);
  reply.header(RESPONSE_ID_HEADER, responseId);
  let object: ResponseObject;
  try {
    object = await ctx.poller.waitForTerminal(requestId, { timeoutMs: ctx.config.BLOCKING_FLEX_TIMEOUT_MS });
  } catch (err) {
    if (!(err instanceof WaitTimeout)) throw err;
    throw new HttpError(
      504,
      `The flex request did not finish within ${ctx.config.BLOCKING_FLEX_TIMEOUT_MS} ms. It is still running: ` +
        `retrieve it with GET /v1/responses/${responseId}.`,
      { code: 'timeout' },
    );
  }
  return reply.code(statusForResponse(object)).send(object);
}

async function enqueueBatchOf1(
  ctx: GatewayContext,
  endpoint: CreateEndpoint,
  req: FastifyRequest,
  owner: ApiKeyOwner,
  request: CreateRequest,
  body: JsonBody,
): Promise<string> {
  const requestId = newId();
  req.volleyRequestId = requestId;
  const flex = request.serviceTier === 'flex';
  try {
    await ctx.jobs.createBatchOf1({
      requestId,
      body: body.text,
      model: request.model,
      endpoint,
      serviceTier: request.serviceTier,
      background: request.background,
      createdBy: owner.userId,
      apiKeyId: owner.id,
      completionWindow: flex ? ctx.config.FLEX_COMPLETION_WINDOW : ctx.config.BACKGROUND_COMPLETION_WINDOW,
    });
  } catch (err) {
    ctx.logger.error({ err, requestId }, 'could not store a background/flex request; request refused');
    throw trackingUnavailable();
  }
  return requestId;
}
