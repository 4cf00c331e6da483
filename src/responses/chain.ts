// `previous_response_id` expanded by volley from its own store (DESIGN 11): each earlier
// turn's input items, then its output items, oldest first, then this request's own input;
// sent upstream as explicit input with no `previous_response_id`, so any upstream (one that
// keeps no state, or a chat-only engine through translation) gets the whole conversation.
// `instructions` are not carried over. Pure: no I/O.
import { isRecord, parseJson } from './json.ts';
import { decodeResponseBody } from './stored-body.ts';

/** What expansion reads of a stored turn (a `requests` row). */
export interface StoredTurn {
  createdBy: string;
  state: string;
  deleted: boolean;
  store: boolean;
  endpoint: string;
  body: string;
  responseBody: string | null;
  responseStatus: number | null;
}

/**
 * Whether every turn of the chain may be continued by `owner`: theirs, not deleted, stored
 * (`store: false` is not kept), a Responses request that completed. Anything else is "not
 * found", the same answer for someone else's and for an unknown id, so existence is not
 * revealed.
 */
export function chainUsable(chain: readonly StoredTurn[], owner: string): boolean {
  return (
    chain.length > 0 &&
    chain.every(
      (t) =>
        t.createdBy === owner &&
        !t.deleted &&
        t.store &&
        t.state === 'completed' &&
        (t.responseStatus === null || t.responseStatus < 400) &&
        t.endpoint === '/v1/responses',
    )
  );
}

/** A Responses `input` as items: a string is one user message. */
export function inputItems(input: unknown): unknown[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  return Array.isArray(input) ? input : [];
}

/** The output items of a stored answer (the Responses object the client got). */
export function outputItems(responseBody: string | null): unknown[] {
  if (responseBody === null) return [];
  const body = decodeResponseBody(responseBody);
  return isRecord(body) && Array.isArray(body.output) ? body.output : [];
}

/** The request body with the chain's turns as explicit input and no `previous_response_id`. */
export function expandedRequest(chain: readonly StoredTurn[], request: Record<string, unknown>): Record<string, unknown> {
  const items: unknown[] = [];
  for (const turn of chain) {
    const body = parseJson(turn.body);
    items.push(...inputItems(isRecord(body) ? body.input : undefined), ...outputItems(turn.responseBody));
  }
  items.push(...inputItems(request.input));
  const { previous_response_id: _previous, ...rest } = request;
  return { ...rest, input: items };
}
