/**
 * The development upstream's "model": a deterministic reply computed from the prompt, a
 * token estimate, the length cut, and the split of a reply into stream pieces. Pure: no I/O.
 */

/** The reply when the prompt has no user text. */
export const DEFAULT_REPLY = 'This is the volley development upstream, a test tool, not a real model.';

/** Echoed user text (and tool output) is cut at this many characters so replies stay small and fast. */
export const MAX_ECHO_CHARS = 280;

/** The token estimate's ratio, also used to cut a length-limited reply. */
export const CHARS_PER_TOKEN = 4;

export interface ToolResult {
  /** Name of the function call the result answers, `unknown` when the call is not in the input. */
  name: string;
  output: string;
}

export interface Prompt {
  /** Characters of all text in the prompt (every role, instructions and tool calls included). */
  chars: number;
  /** Text of the last user message, '' when there is none. */
  lastUserText: string;
  /** Set when the conversation's last item is a tool result. */
  toolResult?: ToolResult;
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

function stringField(item: Json, key: string): string {
  const value = item[key];
  return typeof value === 'string' ? value : '';
}

/** Characters of the tool calls of a chat assistant message (`tool_calls[].function`). */
function chatToolCallChars(message: Json): number {
  const calls = message['tool_calls'];
  if (!Array.isArray(calls)) return 0;
  let chars = 0;
  for (const call of calls) {
    const fn = isObject(call) ? call['function'] : undefined;
    if (isObject(fn)) chars += stringField(fn, 'name').length + stringField(fn, 'arguments').length;
  }
  return chars;
}

/** The name of the chat tool call `id`, searched in the assistant messages before `end`. */
function chatCallName(messages: readonly unknown[], end: number, id: unknown): string {
  for (let i = end - 1; i >= 0; i--) {
    const message = messages[i];
    const calls = isObject(message) ? message['tool_calls'] : undefined;
    if (!Array.isArray(calls)) continue;
    for (const call of calls) {
      if (!isObject(call) || call['id'] !== id) continue;
      const fn = call['function'];
      return isObject(fn) && typeof fn['name'] === 'string' ? fn['name'] : 'unknown';
    }
  }
  return 'unknown';
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
    else if (message['role'] === 'assistant') chars += chatToolCallChars(message);
  }
  const last = messages.at(-1);
  if (!isObject(last) || last['role'] !== 'tool') return { chars, lastUserText };
  const name = chatCallName(messages, messages.length - 1, last['tool_call_id']);
  return { chars, lastUserText, toolResult: { name, output: contentText(last['content']) } };
}

/** The name of the Responses `function_call` item with `callId`, searched before `end`. */
function responsesCallName(items: readonly unknown[], end: number, callId: unknown): string {
  for (let i = end - 1; i >= 0; i--) {
    const item = items[i];
    if (isObject(item) && item['type'] === 'function_call' && item['call_id'] === callId) {
      return typeof item['name'] === 'string' ? item['name'] : 'unknown';
    }
  }
  return 'unknown';
}

/** The prompt of a responses request: `input` (string or items) plus `instructions`. */
export function responsesPrompt(input: unknown, instructions: unknown): Prompt {
  let chars = typeof instructions === 'string' ? instructions.length : 0;
  if (typeof input === 'string') return { chars: chars + input.length, lastUserText: input };
  let lastUserText = '';
  if (!Array.isArray(input)) return { chars, lastUserText };
  for (const item of input) {
    if (!isObject(item)) continue;
    if (item['type'] === 'function_call') {
      chars += stringField(item, 'name').length + stringField(item, 'arguments').length;
      continue;
    }
    // Messages carry `content`; tool results (function_call_output, …) carry `output`.
    const text = contentText(item['content']) || contentText(item['output']);
    chars += text.length;
    if (item['role'] === 'user') lastUserText = text;
  }
  const last: unknown = input.at(-1);
  if (!isObject(last) || last['type'] !== 'function_call_output') return { chars, lastUserText };
  const name = responsesCallName(input, input.length - 1, last['call_id']);
  return { chars, lastUserText, toolResult: { name, output: contentText(last['output']) } };
}

/** `text` cut at `max` characters without leaving half a surrogate pair at the cut. */
export function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** Long text is cut at MAX_ECHO_CHARS and marked with an ellipsis. */
function echoed(text: string): string {
  return text.length <= MAX_ECHO_CHARS ? text : `${cutChars(text, MAX_ECHO_CHARS)}…`;
}

/**
 * The deterministic text reply to a prompt: `Tool <name> returned: <output>` when the last
 * item is a tool result, else the last user text echoed, else DEFAULT_REPLY.
 */
export function replyText(prompt: Prompt): string {
  if (prompt.toolResult !== undefined) {
    return `Tool ${prompt.toolResult.name} returned: ${echoed(prompt.toolResult.output)}`;
  }
  const text = prompt.lastUserText;
  if (text.trim() === '') return DEFAULT_REPLY;
  return `Echo: ${echoed(text)}`;
}

/** A rough token count: one token per four characters, at least one. */
export function estimateTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / CHARS_PER_TOKEN));
}

export interface LimitedText {
  text: string;
  /** Output tokens of `text`. */
  tokens: number;
  /** True when the text was cut to fit the limit. */
  cut: boolean;
}

/**
 * Applies an output token limit to a reply: a reply whose estimate exceeds `maxTokens` is cut
 * to `maxTokens` tokens' worth of characters and reports `maxTokens` tokens.
 */
export function limitText(text: string, maxTokens: number | null | undefined): LimitedText {
  const tokens = estimateTokens(text.length);
  if (maxTokens === null || maxTokens === undefined || tokens <= maxTokens) return { text, tokens, cut: false };
  return { text: cutChars(text, maxTokens * CHARS_PER_TOKEN), tokens: maxTokens, cut: true };
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

/** Splits tool call arguments into at most three pieces (never inside a surrogate pair). */
export function splitArguments(args: string): string[] {
  const count = Math.min(3, args.length);
  if (count <= 1) return [args];
  const size = Math.ceil(args.length / count);
  const pieces: string[] = [];
  let start = 0;
  while (start < args.length) {
    let end = Math.min(args.length, start + size);
    const before = args.charCodeAt(end - 1);
    if (end < args.length && before >= 0xd800 && before <= 0xdbff) end++;
    pieces.push(args.slice(start, end));
    start = end;
  }
  return pieces;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 9 || code === 13;
}
