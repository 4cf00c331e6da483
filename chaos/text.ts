// The harness's view of request and answer text: nonces, the answer text of the shapes
// volley relays and stores (chat completions, Responses objects), and a lenient JSON parse
// for poisoned answers. Pure: no I/O.
import { randomBytes } from 'node:crypto';

/** Every logical request carries one of these in its prompt; the upstream echoes it. */
export const NONCE_PATTERN = /chaos-[0-9a-f]{16}/;

/** A fresh nonce for one logical request. */
export function newNonce(): string {
  return `chaos-${randomBytes(8).toString('hex')}`;
}

/** The first nonce in `text`, if any. */
export function findNonce(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return NONCE_PATTERN.exec(text)?.[0];
}

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON.parse that also takes a literal NUL byte inside a string (invalid JSON, which a
 * poisoned upstream sends) by reading it as the escape `\u0000`. Undefined when the text is
 * not JSON even so.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text) as unknown;
  } catch {
    return undefined;
  }
}

/** Text of a message `content`: a string, or parts with a `text` field. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) if (isRecord(part) && typeof part['text'] === 'string') text += part['text'];
  return text;
}

/** The last user text of a chat (`messages`) or Responses (`input`) request body. */
export function lastUserText(body: unknown): string {
  if (!isRecord(body)) return '';
  const input = body['input'];
  if (typeof input === 'string') return input;
  const items = Array.isArray(body['messages']) ? body['messages'] : Array.isArray(input) ? input : [];
  let last = '';
  for (const item of items) if (isRecord(item) && item['role'] === 'user') last = contentText(item['content']);
  return last;
}

/**
 * The answer text of a chat.completion (first choice's message) or a Responses object (its
 * `output_text` parts, in order). Undefined for anything else.
 */
export function answerText(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const choices = body['choices'];
  if (Array.isArray(choices)) {
    const first: unknown = choices[0];
    if (!isRecord(first) || !isRecord(first['message'])) return undefined;
    const content = first['message']['content'];
    return typeof content === 'string' ? content : contentText(content);
  }
  const output = body['output'];
  if (Array.isArray(output)) {
    let text = '';
    for (const item of output) {
      if (!isRecord(item)) continue;
      // A chat completion wrapped as a message item (volley's GET of a chat row) or a message.
      if (Array.isArray(item['content'])) {
        for (const part of item['content']) {
          if (isRecord(part) && part['type'] === 'output_text' && typeof part['text'] === 'string') text += part['text'];
        }
      }
    }
    return text;
  }
  return typeof body['output_text'] === 'string' ? body['output_text'] : undefined;
}

/**
 * What two texts are compared as: a poisoned answer's NUL may be stored removed, replaced
 * (U+FFFD) or escaped (`\u0000` as six characters), which DESIGN 13 allows ("sanitised").
 */
export function comparableText(text: string): string {
  return text.replace(/\u0000|\uFFFD|\\u0000/g, '');
}
