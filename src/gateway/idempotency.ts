// Idempotency-Key on every create path (DESIGN 13): the same key (per API key, 24 h) with the
// same body gets the first request's answer, waiting while it runs; a background request
// gets the same id; another body gets 409. It works across gateway processes: the claim is a
// row, a waiting retry is woken by the request's terminal NOTIFY, and a retry that finds the
// serving gateway dead (its lease lapsed) takes the request over under the same id, so a
// logical request is one row however often it is sent.
import { createHash } from 'node:crypto';
import { WaitTimeout } from '../errors.ts';
import { claimIdempotencyKey } from '../store/idempotency-keys.ts';
import { findRequestDetail } from '../store/requests/find.ts';
import { isTerminal, type RequestDetail } from '../store/requests/rows.ts';
import { clientGone, type CreateCall } from './create-call.ts';
import type { GatewayContext } from './context.ts';
import { HttpError, badRequest } from './http-errors.ts';
import { serveBackground } from './queued.ts';
import { replayAnswer } from './replay.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/**
 * How long a claim stays the serving gateway's without renewal. It renews every third of it
 * (held-requests.ts), so a retry waits at most this long after a gateway died before taking
 * its request over.
 */
export const LEASE_MS = 15_000;
/** How long a retry waits, in all, for a request another call serves (the upstream timeout's order). */
const MAX_WAIT_MS = 10 * 60_000;
const MAX_KEY_LENGTH = 255;

/** Serves a call that carries an Idempotency-Key; `serve` runs a call the ordinary way. */
export async function serveIdempotent(
  ctx: GatewayContext,
  call: CreateCall,
  header: string | string[],
  serve: (call: CreateCall) => Promise<void>,
): Promise<void> {
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw badRequest(`The Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} characters.`, 'Idempotency-Key', 'invalid_idempotency_key');
  }
  const idempotency = { apiKeyId: call.owner.id, key };
  const bodyHash = createHash('sha256').update(call.body.raw).digest('hex');
  const deadline = Date.now() + MAX_WAIT_MS;
  for (;;) {
    const claim = await claimIdempotencyKey(ctx.db, {
      ...idempotency,
      bodyHash,
      endpoint: call.endpoint,
      requestId: call.requestId,
      leaseMs: LEASE_MS,
    });
    if (claim.kind === 'mismatch') throw keyReused();
    call.requestId = claim.requestId;
    call.req.volleyRequestId = claim.requestId;
    if (claim.kind !== 'held') {
      // Taken over: the request may have finished after all (its gateway died after the row).
      const detail = claim.kind === 'taken-over' ? await findRequestDetail(ctx.db, claim.requestId) : undefined;
      if (detail && isTerminal(detail.state)) return replayAnswer(call, detail);
      return serve({ ...call, idempotency });
    }
    // Another call serves it. A background request's answer is its object as it is now (the
    // batch-of-1 write is idempotent on the id, so a first call that failed mid-way is completed).
    if (call.request.path === 'background' || call.request.path === 'flex-background') return serveBackground(ctx, call);
    const detail = await terminalWithin(ctx, call, Math.min(2 * LEASE_MS, deadline - Date.now()));
    if (detail) return replayAnswer(call, detail);
    if (Date.now() >= deadline) throw stillRunning(call.requestId);
    // Claim again: the serving gateway's lease may have lapsed, and this call takes over.
  }
}

/** The row once terminal, or undefined when `timeoutMs` passed first. */
async function terminalWithin(ctx: GatewayContext, call: CreateCall, timeoutMs: number): Promise<RequestDetail | undefined> {
  try {
    await ctx.poller.waitForTerminal(call.requestId, { timeoutMs: Math.max(timeoutMs, 1), signal: clientGone(call) });
  } catch (err) {
    if (err instanceof WaitTimeout) return undefined;
    throw err;
  }
  return findRequestDetail(ctx.db, call.requestId);
}

const keyReused = () =>
  new HttpError(409, 'This Idempotency-Key was already used with another request body. Use a new key for a new request.', {
    code: 'idempotency_key_reused',
    param: 'Idempotency-Key',
  });

const stillRunning = (requestId: string) =>
  new HttpError(409, `The request with this Idempotency-Key is still running (resp_${requestId}); retry later.`, {
    code: 'idempotent_request_in_progress',
    param: 'Idempotency-Key',
  });
