// The stored upstream response body as one JSON value. A realtime request made with
// `stream: true` is captured as the raw server-sent-event bytes the client received, so
// for those rows the final object is rebuilt from the events. Pure: no I/O.
import { isRecord, parseJson } from './json.ts';

/**
 * The body as a JSON value: parsed JSON, the final `response` of a Responses API stream,
 * or a `chat.completion` assembled from chat chunks. Undefined when it is none of these.
 */
export function decodeResponseBody(text: string): unknown {
  const value = parseJson(text);
  if (value !== undefined) return value;
  return looksLikeSse(text) ? fromSseEvents(sseEvents(text)) : undefined;
}

function looksLikeSse(text: string): boolean {
  return /^\s*(?:(?:data|event|id|retry):|:)/.test(text);
}

/** The JSON payloads of the `data:` fields, in order; `[DONE]` and non-JSON data skipped. */
function sseEvents(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice('data:'.length).replace(/^ /, ''))
      .join('\n');
    if (data === '' || data === '[DONE]') continue;
    const value = parseJson(data);
    if (isRecord(value)) events.push(value);
  }
  return events;
}

function fromSseEvents(events: Record<string, unknown>[]): unknown {
  // Every Responses stream event that carries the whole response (created, in_progress,
  // completed, failed, incomplete) holds a newer snapshot than the one before it, so the
  // last one is the final state, or the best we have when the stream was cut short.
  const snapshots = events.map((event) => event.response).filter(isRecord);
  if (snapshots.length > 0) return snapshots[snapshots.length - 1];
  const chunks = events.filter((event) => event.object === 'chat.completion.chunk');
  return chunks.length > 0 ? assembleChatCompletion(chunks) : undefined;
}

interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A `chat.completion` equivalent to the chunks (first choice only; n > 1 is not rebuilt). */
function assembleChatCompletion(chunks: Record<string, unknown>[]): Record<string, unknown> {
  let content: string | null = null;
  let refusal: string | null = null;
  let finishReason: unknown = null;
  let usage: unknown = null;
  const toolCalls: ToolCall[] = [];
  for (const chunk of chunks) {
    // With stream_options.include_usage the usage arrives on a final chunk with no choices.
    if (isRecord(chunk.usage)) usage = chunk.usage;
    const choice = firstChoice(chunk.choices);
    if (choice === undefined) continue;
    if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
    const delta = choice.delta;
    if (!isRecord(delta)) continue;
    if (typeof delta.content === 'string') content = (content ?? '') + delta.content;
    if (typeof delta.refusal === 'string') refusal = (refusal ?? '') + delta.refusal;
    if (Array.isArray(delta.tool_calls)) appendToolCallDeltas(toolCalls, delta.tool_calls);
  }
  const message: Record<string, unknown> = { role: 'assistant', content, refusal };
  // filter() drops the holes a stream that skipped an index would leave.
  if (toolCalls.length > 0) message.tool_calls = toolCalls.filter((call) => call !== undefined);
  const first = chunks[0] ?? {};
  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices: [{ index: 0, message, finish_reason: finishReason }],
    usage,
  };
}

function firstChoice(choices: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(choices)) return undefined;
  return choices.filter(isRecord).find((choice) => choice.index === undefined || choice.index === 0);
}

// Tool calls stream as fragments keyed by `index`: the first carries id and name, the
// rest append to `arguments`.
function appendToolCallDeltas(calls: ToolCall[], deltas: unknown[]): void {
  for (const delta of deltas.filter(isRecord)) {
    const index = typeof delta.index === 'number' ? delta.index : 0;
    const call = (calls[index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
    if (typeof delta.id === 'string') call.id = delta.id;
    const fn = delta.function;
    if (!isRecord(fn)) continue;
    if (typeof fn.name === 'string') call.function.name += fn.name;
    if (typeof fn.arguments === 'string') call.function.arguments += fn.arguments;
  }
}
