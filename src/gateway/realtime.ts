// Path 1 of DESIGN 1.1, realtime and not background (the hot path): the request is recorded
// (DURABILITY says when), proxied while a copy is kept, and its completion stored: before the
// answer's final bytes with DURABILITY=strict and on /v1/responses (read-your-writes),
// otherwise after the reply, off the client's latency path.
import type { CompleteResponsePayload, CreateResponsePayload } from '../jobs/definitions.ts';
import { newId } from '../ids.ts';
import { toResponseId } from '../responses/response-id.ts';
import type { CreateCall } from './create-call.ts';
import type { GatewayContext } from './context.ts';
import { DURABILITY_POLICIES } from './durability.ts';
import { HttpError, envelope, overloaded, trackingUnavailable } from './http-errors.ts';
import { parseResponseId } from '../responses/response-id.ts';
import { epochNow } from '../lib/clock.ts';
import { answerFacts, requestFacts } from '../responses/record-facts.ts';
import { prepareCall, type PreparedCall, type Refusal } from '../upstream/prepare.ts';
import { held, relay, type RelayResult } from './relay.ts';

const INTERNAL_ERROR = envelope(500, 'The server had an error while processing your request.', 'internal_error');

export async function serveRealtime(ctx: GatewayContext, call: CreateCall): Promise<void> {
  const { requestId, body } = call;
  // The route, the chain expanded, a chat-only model's request translated: a 400 (an unknown
  // previous_response_id, say) before anything is stored or sent.
  const prepared = await prepareCall({ db: ctx.db, catalog: ctx.catalog }, {
    endpoint: call.endpoint,
    model: call.request.model,
    raw: body.raw,
    value: body.value,
    owner: call.owner.userId,
  });
  if (!prepared.ok) throw refused(prepared.refusal);
  // Bounded memory (DESIGN 13): the request's body is held until its completion is stored.
  let bytes = body.raw.length;
  if (!ctx.budget.tryTake(bytes)) throw overloaded();
  const { store, previousResponseId } = call.request;
  const created: CreateResponsePayload = {
    requestId,
    batchId: newId(),
    // store: false keeps no body, in no row and no job (DESIGN 11).
    body: store ? body.text : '',
    model: call.request.model,
    endpoint: call.endpoint,
    serviceTier: call.request.serviceTier,
    createdBy: call.owner.userId,
    apiKeyId: call.owner.id,
    ...(previousResponseId ? { previousRequestId: parseResponseId(previousResponseId) } : {}),
    ...(store ? {} : { store: false }),
  };
  // Held from its record until its completion is stored: the sweeper leaves its row alone.
  ctx.held.hold(requestId, call.idempotency);
  let completing: Promise<void> | undefined;
  try {
    const served = await proxy(ctx, call, created, prepared.call);
    bytes += served.answerBytes;
    ctx.budget.take(served.answerBytes);
    completing = served.completing;
  } finally {
    const release = () => {
      ctx.held.release(requestId);
      ctx.budget.give(bytes);
    };
    if (completing) void completing.finally(release);
    else release();
  }
}

/**
 * Records, relays and stores. Once the reply is sent, resolves with the completion's storing
 * (wrapped: awaiting a promise of a promise would wait for the storing too).
 */
async function proxy(
  ctx: GatewayContext,
  call: CreateCall,
  created: CreateResponsePayload,
  upstream: PreparedCall,
): Promise<{ completing: Promise<void>; answerBytes: number }> {
  const { requestId } = created;
  const policy = DURABILITY_POLICIES[ctx.config.DURABILITY];
  const startedAt = new Date();
  const recording = ctx.jobs.enqueueCreateResponse(created).then(
    () => void (ctx.recording.healthy = true),
    (err: unknown) => {
      ctx.recording.healthy = false;
      throw err;
    },
  );
  let recorded: Promise<void> | undefined;
  if (!policy.createBeforeProxy && ctx.recording.healthy) {
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
  const completion = (result: RelayResult): CompleteResponsePayload => {
    const { body: requestBody, ...rest } = created;
    const finishedAt = epochNow();
    return {
      ...rest,
      requestBody,
      statusCode: result.status,
      // store: false: what the worker would read from the bodies is read here, and they go.
      ...(created.store !== false ? { responseBody: result.body } : { responseBody: '', ...unstoredFacts(call, result) }),
      startedAt: startedAt.toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      timings: {
        receivedAt: call.receivedAt,
        upstreamStartedAt: result.timing?.upstreamStartedAt ?? null,
        firstByteAt: result.timing?.firstByteAt ?? null,
        finishedAt,
        streamed: result.timing?.streamed ?? false,
      },
      ...(call.metadata ? { metadata: call.metadata } : {}),
    };
  };
  // Stored before the final bytes go out: a client holding the answer finds it stored.
  let storedInline = false;
  const beforeEnd =
    policy.completeBeforeReply || call.endpoint === '/v1/responses'
      ? async (result: RelayResult) => {
          await ctx.jobs.completeInline(completion(result));
          storedInline = true;
        }
      : undefined;
  let result: RelayResult;
  try {
    result = await relay({
      upstream: ctx.upstream,
      reply: call.reply,
      endpoint: call.endpoint,
      target: upstream.route,
      path: upstream.path,
      body: upstream.body,
      ...(call.endpoint === '/v1/responses' ? { answer: { request: call.body.value, translated: upstream.translated !== undefined } } : {}),
      responseId: toResponseId(requestId),
      requestId,
      ...(recorded ? { recorded } : {}),
      ...(beforeEnd ? { beforeEnd } : {}),
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
    const res = call.reply.raw;
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify(INTERNAL_ERROR));
    result = { status: 500, body: JSON.stringify(INTERNAL_ERROR) };
  }
  const answerBytes = Buffer.byteLength(result.body);
  if (storedInline) return { completing: Promise.resolve(), answerBytes };
  // Not stored yet (the usual case, or the inline write failed and the connection was cut):
  // the tracker stores it, retrying until the database takes it.
  return { completing: ctx.tracker.complete(completion(result)), answerBytes };
}

/** With store: false, the record's facts (usage, finish reason, metadata…) read before the bodies go. */
function unstoredFacts(call: CreateCall, result: RelayResult): Pick<CompleteResponsePayload, 'usage' | 'facts'> {
  const { promptTokens, completionTokens, totalTokens, ...answer } = answerFacts(result.body);
  return {
    usage: { promptTokens, completionTokens, totalTokens },
    facts: { ...answer, ...requestFacts(call.body.value, call.metadata) },
  };
}

/** A request the upstream cannot be sent (prepareCall's refusal) as the client's 400. */
export function refused(r: Refusal): HttpError {
  return new HttpError(r.status, r.message, { param: r.param, code: r.code });
}
