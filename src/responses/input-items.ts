// GET /v1/responses/{id}/input_items (DESIGN 11): the items of a response's own `input`, each
// with a stable id, paged by cursor. Earlier turns of a previous_response_id chain are not
// repeated (they are their own responses' input items). Pure: no I/O.
import { inputItems } from './chain.ts';
import { isRecord, parseJson } from './json.ts';

export interface InputItemsPage {
  object: 'list';
  data: Record<string, unknown>[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** A response's input items in order, each with an id (its own, or one derived from the response). */
export function responseInputItems(requestBody: string, requestId: string): Record<string, unknown>[] {
  const body = parseJson(requestBody);
  const hex = requestId.replaceAll('-', '');
  return inputItems(isRecord(body) ? body.input : undefined).map((item, index) => normalise(item, `${hex}_${index}`));
}

/** One item as the list shows it: a message's string content as an input_text part, and an id. */
function normalise(item: unknown, suffix: string): Record<string, unknown> {
  if (!isRecord(item)) return { id: `item_${suffix}`, type: 'unknown' };
  const type = typeof item.type === 'string' ? item.type : 'message';
  const out: Record<string, unknown> = { ...item, type };
  if (type === 'message' && typeof item.content === 'string') {
    out.content = [{ type: item.role === 'assistant' ? 'output_text' : 'input_text', text: item.content }];
  }
  if (typeof out.id !== 'string' || out.id === '') out.id = `${type === 'message' ? 'msg' : 'item'}_${suffix}`;
  return out;
}

/** A page: `order` desc (newest first, the default) or asc, items after the `after` id, at most `limit`. */
export function pageOfItems(
  items: readonly Record<string, unknown>[],
  opts: { after?: string | undefined; limit: number; order: 'asc' | 'desc' },
): InputItemsPage {
  const ordered = opts.order === 'asc' ? [...items] : [...items].reverse();
  let start = 0;
  if (opts.after !== undefined) {
    const at = ordered.findIndex((i) => i.id === opts.after);
    start = at === -1 ? ordered.length : at + 1;
  }
  const data = ordered.slice(start, start + opts.limit);
  return {
    object: 'list',
    data,
    first_id: (data[0]?.id as string | undefined) ?? null,
    last_id: (data[data.length - 1]?.id as string | undefined) ?? null,
    has_more: start + opts.limit < ordered.length,
  };
}
