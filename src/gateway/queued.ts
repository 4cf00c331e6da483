// Paths 2-4 of DESIGN 1.1: background and flex requests, stored as a pending row and a
// process-request job in one transaction and run by the request processor. Background ones
// are answered 202 queued at once; flex without background holds the connection until the
// request is terminal.
import { requestFacts } from '../responses/record-facts.ts';
import { WaitTimeout } from '../errors.ts';
import { toResponseId } from '../responses/response-id.ts';
import { newRequestDetail, toResponseObject, type ResponseObject } from '../responses/response-object.ts';
import { clientGone, type CreateCall } from './create-call.ts';
import type { GatewayContext } from './context.ts';
import { HttpError, trackingUnavailable } from './http-errors.ts';
import { RESPONSE_ID_HEADER } from './relay.ts';
import { refused } from './realtime.ts';
import { previousResponseNotFound, previousResponseUsable } from '../upstream/prepare.ts';
import { parseResponseId } from '../responses/response-id.ts';
import { REPLAYED_HEADER } from './replay.ts';
import { findRequestDetail } from '../store/requests/find.ts';
import { isTerminal } from '../store/requests/rows.ts';
import { POLL_AFTER_HEADER, POLL_AFTER_MS, statusForResponse } from './response-status.ts';

/**
 * Paths 2 and 3: a durable pending row and process-request job, answered 202 queued. Sent
 * again (Idempotency-Key), it is stored if the first call did not get that far (idempotent on
 * the id), else answered with its object as it is now.
 */
export async function serveBackground(ctx: GatewayContext, call: CreateCall): Promise<void> {
  const createdAt = await storeBatchOf1(ctx, call);
  if (createdAt === null) return answerCurrent(ctx, call);
  const queued = toResponseObject(
    newRequestDetail({
      id: call.requestId,
      model: call.request.model,
      serviceTier: call.request.serviceTier,
      background: true,
      body: call.body.text,
      // The row's own time (PostgreSQL's clock), so GET says the same second as this answer.
      createdAt,
    }),
  );
  await call.reply.code(202).header(RESPONSE_ID_HEADER, queued.id).header(POLL_AFTER_HEADER, POLL_AFTER_MS).send(queued);
}

async function answerCurrent(ctx: GatewayContext, call: CreateCall): Promise<void> {
  const detail = await findRequestDetail(ctx.db, call.requestId);
  // Only a row deleted between the INSERT and this read; retention deletes no pending row.
  if (!detail) throw trackingUnavailable();
  const object = toResponseObject(detail);
  const terminal = isTerminal(detail.state);
  if (!terminal) void call.reply.header(POLL_AFTER_HEADER, POLL_AFTER_MS);
  await call.reply.code(terminal ? 200 : 202).header(RESPONSE_ID_HEADER, object.id).header(REPLAYED_HEADER, 'true').send(object);
}

/** Path 4: as 3, then hold the connection until the request is terminal (or the wait times out). */
export async function serveFlexBlocking(ctx: GatewayContext, call: CreateCall): Promise<void> {
  await storeBatchOf1(ctx, call);
  // The flex role runs it; an Idempotency-Key's lease is this call's while it waits.
  ctx.held.hold(call.requestId, call.idempotency);
  try {
    await answerWhenTerminal(ctx, call);
  } finally {
    ctx.held.release(call.requestId);
  }
}

/**
 * Holds the connection until the request is terminal and answers its object, with the
 * status that matches it; 504 (the request goes on) when the wait runs out. A client that
 * leaves drops its wait at once, so waits of departed clients hold no memory.
 */
export async function answerWhenTerminal(ctx: GatewayContext, call: CreateCall, timeoutMs = ctx.config.BLOCKING_FLEX_TIMEOUT_MS): Promise<void> {
  const responseId = toResponseId(call.requestId);
  call.reply.header(RESPONSE_ID_HEADER, responseId);
  let object: ResponseObject;
  try {
    object = await ctx.poller.waitForTerminal(call.requestId, { timeoutMs, signal: clientGone(call) });
  } catch (err) {
    if (!(err instanceof WaitTimeout)) throw err;
    throw new HttpError(
      504,
      `The request did not finish within ${timeoutMs} ms. It is still running: retrieve it with GET /v1/responses/${responseId}.`,
      { code: 'timeout' },
    );
  }
  await call.reply.code(statusForResponse(object)).send(object);
}

/**
 * The pending row and its job, in one transaction; idempotent on the request id. Returns the
 * row's `created_at`, or null when it was stored before.
 */
export async function storeBatchOf1(ctx: GatewayContext, call: CreateCall): Promise<Date | null> {
  const flex = call.request.serviceTier === 'flex';
  const previous = call.request.previousResponseId;
  // Checked now, so a bad id is the client's 400, not a failure found when it runs; the
  // processor expands the chain when it sends the request.
  if (previous !== undefined && !(await previousResponseUsable(ctx.db, previous, call.owner.userId))) {
    throw refused(previousResponseNotFound(previous));
  }
  try {
    return await ctx.jobs.createBatchOf1({
      requestId: call.requestId,
      body: call.body.text,
      model: call.request.model,
      endpoint: call.endpoint,
      serviceTier: call.request.serviceTier,
      background: call.request.background,
      createdBy: call.owner.userId,
      apiKeyId: call.owner.id,
      completionWindow: flex ? ctx.config.FLEX_COMPLETION_WINDOW : ctx.config.BACKGROUND_COMPLETION_WINDOW,
      ...(previous !== undefined ? { previousRequestId: parseResponseId(previous) } : {}),
      receivedAt: new Date(call.receivedAt),
      ...requestFacts(call.body.value, call.metadata),
    });
  } catch (err) {
    ctx.logger.error({ err, requestId: call.requestId }, 'could not store a background/flex request; request refused');
    throw trackingUnavailable();
  }
}
