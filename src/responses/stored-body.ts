// The stored upstream response body as one JSON value. The gateway stores a streamed answer
// as the final object it rebuilt while relaying (stream-capture.ts); a body stored as the
// raw server-sent events (older rows, other writers) is rebuilt here the same way, by the
// same capture. Pure: no I/O.
import { parseJson } from './json.ts';
import { createStreamTap } from './stream-capture.ts';

/**
 * The body as a JSON value: parsed JSON, the final `response` of a Responses API stream,
 * or a `chat.completion` assembled from chat chunks. Undefined when it is none of these.
 */
export function decodeResponseBody(text: string): unknown {
  const value = parseJson(text);
  if (value !== undefined) return value;
  if (!looksLikeSse(text)) return undefined;
  const tap = createStreamTap({ kind: text.includes('"chat.completion.chunk"') ? 'chat' : 'responses' });
  tap.push(Buffer.from(text));
  tap.end();
  return parseJson(tap.body());
}

function looksLikeSse(text: string): boolean {
  return /^\s*(?:(?:data|event|id|retry):|:)/.test(text);
}
