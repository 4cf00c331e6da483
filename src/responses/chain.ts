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

/** What one stored turn contributes to the conversation: its input items, then its output items. */
export function turnItems(turn: StoredTurn): unknown[] {
  const body = parseJson(turn.body);
  return [...inputItems(isRecord(body) ? body.input : undefined), ...outputItems(turn.responseBody)];
}

/**
 * The request body with the chain's turns as explicit input and no `previous_response_id`.
 * `itemsOf` gives a turn's items (turnItems by default; the gateway's keeps them parsed, as a
 * completed turn never changes). The items are only read here, never changed.
 */
export function expandedRequest<T extends StoredTurn>(
  chain: readonly T[],
  request: Record<string, unknown>,
  itemsOf: (turn: T) => readonly unknown[] = turnItems,
): Record<string, unknown> {
  const items: unknown[] = [];
  for (const turn of chain) items.push(...itemsOf(turn));
  items.push(...inputItems(request.input));
  const { previous_response_id: _previous, ...rest } = request;
  return { ...rest, input: items };
}
