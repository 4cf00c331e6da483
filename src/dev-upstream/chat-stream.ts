/**
 * The `chat.completion.chunk` SSE stream of a chat answer. Pure: no I/O.
 */
import type { ChatCompletionChunk, ChatCompletionMessageFunctionToolCall } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { splitArguments, splitPieces } from './reply.ts';

/** What the assistant answers: text, or tool calls with `content: null`. */
export interface ChatReply {
  content: string | null;
  toolCalls: ChatCompletionMessageFunctionToolCall[];
  finish: 'stop' | 'length' | 'tool_calls';
}

/** The `system_fingerprint` of every chat answer. */
export const SYSTEM_FINGERPRINT = 'fp_volley_dev';

type Delta = ChatCompletionChunk.Choice.Delta;

/**
 * The stream as chunks (the chunk delay is applied between them): the role with the first
 * piece, one chunk per text piece or tool-call fragment, the finish reason, the usage chunk
 * when `usage` is given (stream_options.include_usage), then `[DONE]`.
 */
export function chatStreamChunks(
  head: { id: string; created: number; model: string },
  reply: ChatReply,
  usage: CompletionUsage | undefined,
): string[] {
  const frame = (choices: ChatCompletionChunk.Choice[], chunkUsage?: CompletionUsage): string => {
    const chunk: ChatCompletionChunk = {
      id: head.id,
      object: 'chat.completion.chunk',
      created: head.created,
      model: head.model,
      service_tier: 'default',
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices,
    };
    // With include_usage the API sends `usage: null` on every chunk but the last.
    if (usage !== undefined) chunk.usage = chunkUsage ?? null;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
  const delta = (d: Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): string =>
    frame([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

  const chunks = reply.toolCalls.length > 0 ? toolCallChunks(reply.toolCalls, delta) : textChunks(reply.content ?? '', delta);
  let tail = delta({}, reply.finish);
  if (usage !== undefined) tail += frame([], usage);
  chunks[chunks.length - 1] += tail + 'data: [DONE]\n\n';
  return chunks;
}

function textChunks(text: string, delta: (d: Delta) => string): string[] {
  const chunks = splitPieces(text).map((piece) => delta({ content: piece }));
  // The role arrives with the first piece.
  chunks[0] = delta({ role: 'assistant', content: '', refusal: null }) + chunks[0];
  return chunks;
}

/**
 * One chunk per fragment, keyed by `index`: a call's first fragment carries its id, type and
 * name with empty arguments, the next ones append pieces of the arguments.
 */
function toolCallChunks(calls: readonly ChatCompletionMessageFunctionToolCall[], delta: (d: Delta) => string): string[] {
  const chunks: string[] = [];
  calls.forEach((call, index) => {
    const opening: Delta = {
      tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }],
    };
    chunks.push(delta(index === 0 ? { role: 'assistant', content: null, refusal: null, ...opening } : opening));
    for (const piece of splitArguments(call.function.arguments)) {
      chunks.push(delta({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  return chunks;
}
