// What goes to the upstream for a recorded request, for the gateway's relay and the request
// processor alike: the model's route (the models table), `previous_response_id` expanded from
// the store, and for a chat-only model the Responses request translated to Chat Completions
// (DESIGN 10, 11). The common case (a Responses or chat model, no chain) sends the client's
// bytes unchanged, parsing nothing more.
import type { Executor } from '../db/client.ts';
import { chainUsable, expandedRequest } from '../responses/chain.ts';
import { toChatRequest } from '../responses/chat/index.ts';
import { isRecord } from '../responses/json.ts';
import { parseResponseId } from '../responses/response-id.ts';
import { findResponseChain } from '../store/requests/chain.ts';
import type { ModelCatalog, ModelRoute } from './model-catalog.ts';
import { cachedTurnItems } from './turn-items-cache.ts';

export interface PreparedCall {
  route: ModelRoute;
  /** The path after `/v1`, e.g. `/chat/completions`. */
  path: string;
  body: Buffer | string;
  /** Set for a Responses request served by a chat-only model: its answer is translated back. */
  translated?: { request: Record<string, unknown> };
}

/** A request that cannot be sent: the 400 the client gets (or the request's failure, in the processor). */
export interface Refusal {
  status: 400;
  param: string;
  code: string;
  message: string;
}

export type Prepared = { ok: true; call: PreparedCall } | { ok: false; refusal: Refusal };

export interface PrepareInput {
  endpoint: string;
  model: string;
  /** The body as the client sent it, and parsed. */
  raw: Buffer | string;
  value: unknown;
  /** The owner: a chain may only continue the owner's own responses. */
  owner: string;
  /**
   * The request processor's call: `stream` is dropped (one JSON answer), and `background`
   * and `service_tier` (the upstream must not queue it again).
   */
  processor?: boolean;
}

export const previousResponseNotFound = (id: string): Refusal => ({
  status: 400,
  param: 'previous_response_id',
  code: 'previous_response_not_found',
  message: `Previous response with id '${id.slice(0, 100)}' not found.`,
});

export async function prepareCall(deps: { db: Executor; catalog: ModelCatalog }, input: PrepareInput): Promise<Prepared> {
  const route = deps.catalog.route(input.model);
  const path = input.endpoint.startsWith('/v1/') ? input.endpoint.slice(3) : input.endpoint;
  const value = isRecord(input.value) ? input.value : undefined;
  const responses = input.endpoint === '/v1/responses' && value !== undefined;
  const chained = responses && value.previous_response_id !== undefined && value.previous_response_id !== null;
  if (!chained && !(responses && route.api === 'chat')) {
    return { ok: true, call: { route, path, body: input.processor && value ? JSON.stringify(forProcessor(value)) : input.raw } };
  }
  let request = value!;
  if (chained) {
    const previous = request.previous_response_id;
    const expanded = typeof previous === 'string' ? await expandChain(deps.db, previous, input.owner, request) : undefined;
    if (!expanded) return { ok: false, refusal: previousResponseNotFound(String(previous)) };
    request = expanded;
  }
  if (input.processor) request = forProcessor(request);
  if (route.api !== 'chat') return { ok: true, call: { route, path, body: JSON.stringify(request) } };
  const chat = toChatRequest(request);
  if (!chat.ok) return { ok: false, refusal: { status: 400, param: chat.param, code: 'invalid_value', message: chat.message } };
  return { ok: true, call: { route, path: '/chat/completions', body: JSON.stringify(chat.chat), translated: { request } } };
}

/**
 * Whether `previousId` names a response `owner` may continue (the check at creation, so a bad
 * id is a 400 before anything is stored or sent).
 */
export async function previousResponseUsable(db: Executor, previousId: unknown, owner: string): Promise<boolean> {
  if (typeof previousId !== 'string') return false;
  const uuid = safeResponseId(previousId);
  return uuid !== undefined && chainUsable(await findResponseChain(db, uuid), owner);
}

async function expandChain(
  db: Executor,
  previousId: string,
  owner: string,
  request: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  const uuid = safeResponseId(previousId);
  if (uuid === undefined) return undefined;
  const chain = await findResponseChain(db, uuid);
  return chainUsable(chain, owner) ? expandedRequest(chain, request, cachedTurnItems) : undefined;
}

function safeResponseId(id: string): string | undefined {
  try {
    return parseResponseId(id);
  } catch {
    return undefined;
  }
}

/** The body the request processor sends: one JSON answer, not queued again upstream. */
export function forProcessor(body: Record<string, unknown>): Record<string, unknown> {
  const { stream: _s, stream_options: _so, background: _b, service_tier: _t, ...rest } = body;
  return rest;
}
