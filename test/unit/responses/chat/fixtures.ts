// Builders for chat.completion.chunk objects and a small response snapshot, shared by the
// stream tests.
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { createChatStreamTranslator, type EndOptions, type StreamState } from '../../../../src/responses/chat/index.ts';

type Delta = ChatCompletionChunk.Choice.Delta;
type Finish = ChatCompletionChunk.Choice['finish_reason'];

export function chunk(delta: Delta, finish: Finish = null): ChatCompletionChunk {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

export const text = (content: string) => chunk({ content });
export const finish = (reason: NonNullable<Finish>) => chunk({}, reason);
export const toolCall = (index: number, fields: { id?: string; name?: string; arguments?: string }) =>
  chunk({
    tool_calls: [
      {
        index,
        ...(fields.id ? { id: fields.id, type: 'function' as const } : {}),
        function: { ...(fields.name ? { name: fields.name } : {}), ...(fields.arguments ? { arguments: fields.arguments } : {}) },
      },
    ],
  });

export function usageChunk(usage: CompletionUsage): ChatCompletionChunk {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage };
}

/** A complete Responses object around the translator's state, as the gateway would build. */
export function snapshot(state: StreamState): Record<string, unknown> {
  return {
    id: 'resp_test',
    object: 'response',
    created_at: 1_700_000_000,
    model: 'm',
    status: state.status,
    output: state.output,
    usage: state.usage,
    error: state.error,
    incomplete_details: state.incomplete_details,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: null,
    top_p: null,
    tool_choice: 'auto',
    tools: [],
  };
}

export const ctx = { responseId: 'resp_test', itemIdSeed: 'seed', snapshot };

/** Runs chunks through a fresh translator; returns every event and the final answer. */
export function translate(chunks: unknown[], end: EndOptions = { done: true }) {
  const t = createChatStreamTranslator(ctx);
  const events: ResponseStreamEvent[] = [];
  for (const c of chunks) events.push(...t.push(c));
  events.push(...t.end(end));
  return { events, final: t.final(), translator: t };
}

export const types = (events: readonly ResponseStreamEvent[]) => events.map((e) => e.type);
