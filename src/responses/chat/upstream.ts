// Lenient readers for what a chat-only engine sends back: a `chat.completion` body and
// `chat.completion.chunk` events. Engines differ (content as text parts, tool calls without
// `type` or `index`, arguments as objects, error objects mid-stream), so every field falls
// back to "absent" instead of failing the whole answer.
import { z } from 'zod';
import { isRecord } from '../json.ts';

const text = z.string().nullish().catch(undefined);
const int = z.number().int().nonnegative().optional().catch(undefined);

// Some engines send `arguments` as a JSON object; Responses wants the JSON text.
const args = z
  .union([z.string(), z.record(z.string(), z.unknown()).transform((v) => JSON.stringify(v))])
  .nullish()
  .catch(undefined);

const functionFields = z.object({ name: text, arguments: args }).nullish().catch(undefined);

// Message content as a string, or an array of text parts (joined), or absent.
const content = z
  .union([
    z.string(),
    z.array(z.unknown()).transform((parts) => parts.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join('')),
  ])
  .nullish()
  .catch(undefined);

const MessageToolCall = z.object({ id: text, type: text, function: functionFields });

const Choice = z.object({
  message: z
    .object({
      content,
      refusal: text,
      tool_calls: z.array(MessageToolCall.nullable().catch(null)).nullish().catch(undefined),
    })
    .nullish()
    .catch(undefined),
  finish_reason: text,
});

export interface ChatToolCall {
  id: string | undefined;
  name: string;
  arguments: string;
}

export interface ChatChoice {
  content: string;
  refusal: string;
  toolCalls: ChatToolCall[];
  finishReason: string | undefined;
}

/** The first choice of a chat.completion body, or undefined when it has none. */
export function readFirstChoice(completion: unknown): ChatChoice | undefined {
  const choices = isRecord(completion) ? completion.choices : undefined;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const parsed = Choice.safeParse(choices[0]);
  if (!parsed.success) return { content: '', refusal: '', toolCalls: [], finishReason: undefined };
  const message = parsed.data.message;
  const toolCalls: ChatToolCall[] = [];
  for (const call of message?.tool_calls ?? []) {
    // Custom (free-form) tool calls cannot arise: only function tools are ever sent.
    if (call === null || (typeof call.type === 'string' && call.type !== 'function')) continue;
    toolCalls.push({ id: call.id ?? undefined, name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' });
  }
  return {
    content: message?.content ?? '',
    refusal: message?.refusal ?? '',
    toolCalls,
    finishReason: parsed.data.finish_reason ?? undefined,
  };
}

const DeltaToolCall = z.object({ index: int, id: text, function: z.object({ name: text, arguments: args }).nullish().catch(undefined) });

const ChunkChoice = z.object({
  index: int,
  delta: z
    .object({
      content: text,
      refusal: text,
      tool_calls: z.array(DeltaToolCall.nullable().catch(null)).nullish().catch(undefined),
    })
    .nullish()
    .catch(undefined),
  finish_reason: text,
});

export interface ChunkToolCall {
  index: number | undefined;
  id: string | undefined;
  name: string | undefined;
  arguments: string | undefined;
}

export interface ChunkDelta {
  kind: 'chunk';
  content: string;
  refusal: string;
  toolCalls: ChunkToolCall[];
  finishReason: string | undefined;
  usage: unknown;
}

export type ChunkReading = { kind: 'error'; message: string } | ChunkDelta;

const NOTHING: ChunkDelta = { kind: 'chunk', content: '', refusal: '', toolCalls: [], finishReason: undefined, usage: undefined };

/**
 * One chat.completion.chunk, reduced to choice 0's delta (volley never asks for n > 1) and the
 * chunk's usage. `{error: {...}}` and vLLM's `{object: "error", message}` are errors.
 */
export function readChunk(chunk: unknown): ChunkReading {
  if (!isRecord(chunk)) return NOTHING;
  if (isRecord(chunk.error)) return { kind: 'error', message: errorMessage(chunk.error.message) };
  if (chunk.object === 'error') return { kind: 'error', message: errorMessage(chunk.message) };
  const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
  const first = choices.find((c) => isRecord(c) && (c.index === 0 || c.index === undefined));
  const parsed = ChunkChoice.safeParse(first);
  const usage = chunk.usage ?? undefined;
  if (!parsed.success) return { ...NOTHING, usage };
  const delta = parsed.data.delta;
  const toolCalls: ChunkToolCall[] = [];
  for (const call of delta?.tool_calls ?? []) {
    if (call === null) continue;
    toolCalls.push({
      index: call.index,
      id: call.id ?? undefined,
      name: call.function?.name ?? undefined,
      arguments: call.function?.arguments ?? undefined,
    });
  }
  return {
    kind: 'chunk',
    content: delta?.content ?? '',
    refusal: delta?.refusal ?? '',
    toolCalls,
    finishReason: parsed.data.finish_reason ?? undefined,
    usage,
  };
}

function errorMessage(message: unknown): string {
  return typeof message === 'string' && message !== '' ? message : 'The model server reported an error.';
}
