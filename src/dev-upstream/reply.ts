/**
 * The development upstream's "model": a deterministic reply computed from the prompt, a
 * token estimate, and the split of a reply into stream pieces. Pure: no I/O.
 */

/** The reply when the prompt has no user text. */
export const DEFAULT_REPLY = 'This is the volley development upstream, a test tool, not a real model.';

/** Echoed user text is cut at this many characters so replies stay small and fast. */
export const MAX_ECHO_CHARS = 280;

export interface Prompt {
  /** Characters of all text in the prompt (every role, instructions included). */
  chars: number;
  /** Text of the last user message, '' when there is none. */
  lastUserText: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a message `content`: a string, or an array of parts with a `text` field. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (typeof part === 'string') text += part;
    else if (isObject(part) && typeof part['text'] === 'string') text += part['text'];
  }
  return text;
}

/** The prompt of a chat completions request (`messages`). */
export function chatPrompt(messages: readonly unknown[]): Prompt {
  let chars = 0;
  let lastUserText = '';
  for (const message of messages) {
    if (!isObject(message)) continue;
    const text = contentText(message['content']);
    chars += text.length;
    if (message['role'] === 'user') lastUserText = text;
  }
  return { chars, lastUserText };
}

/** The prompt of a responses request: `input` (string or items) plus `instructions`. */
export function responsesPrompt(input: unknown, instructions: unknown): Prompt {
  let chars = typeof instructions === 'string' ? instructions.length : 0;
  if (typeof input === 'string') return { chars: chars + input.length, lastUserText: input };
  let lastUserText = '';
  if (Array.isArray(input)) {
    for (const item of input) {
      if (!isObject(item)) continue;
      // Messages carry `content`; tool results (function_call_output, …) carry `output`.
      const text = contentText(item['content']) || contentText(item['output']);
      chars += text.length;
      if (item['role'] === 'user') lastUserText = text;
    }
  }
  return { chars, lastUserText };
}

/** The deterministic reply to a prompt: its last user text echoed, or DEFAULT_REPLY. */
export function replyText(prompt: Prompt): string {
  const text = prompt.lastUserText;
  if (text.trim() === '') return DEFAULT_REPLY;
  if (text.length <= MAX_ECHO_CHARS) return `Echo: ${text}`;
  let cut = text.slice(0, MAX_ECHO_CHARS);
  // Do not leave half a surrogate pair at the cut.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `Echo: ${cut}…`;
}

/** A rough token count: one token per four characters, at least one. */
export function estimateTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

/**
 * Splits a reply into stream pieces, one per word with its leading whitespace (the way
 * model tokens carry their leading space). The pieces always join back to `text`.
 */
export function splitPieces(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    pieces.push(text.slice(start, i));
    start = i;
  }
  if (pieces.length === 0) pieces.push(text);
  return pieces;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 9 || code === 13;
}
