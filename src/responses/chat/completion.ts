// A non-streamed chat.completion → the Responses fields of the answer (DESIGN 10).
import type { ResponseOutputItem } from 'openai/resources/responses/responses';
import { isRecord } from '../json.ts';
import {
  fallbackCallId,
  finishOutcome,
  functionCallItem,
  functionCallItemId,
  messageItemId,
  outputMessage,
  outputText,
  type ContentPart,
  type TranslatedResponse,
  type TranslationContext,
} from './output.ts';
import { readFirstChoice } from './upstream.ts';
import { toResponseUsage } from './usage.ts';

/**
 * The first choice's text (and refusal) → one `message` item, then its tool calls →
 * `function_call` items; usage mapped; `length` / `content_filter` → incomplete. A message
 * item is present when there is text or a refusal, or when there are no tool calls (so an
 * empty answer is an empty message, not an empty output). When the answer is incomplete,
 * the items that were still being written are incomplete: the tool calls, or the message
 * when there are none (the streamed translation closes items the same way). A body
 * without choices gives an empty output. Pure; never throws.
 */
export function fromChatCompletion(completion: unknown, ctx: TranslationContext): TranslatedResponse {
  const usage = toResponseUsage(isRecord(completion) ? completion.usage : undefined);
  const choice = readFirstChoice(completion);
  if (choice === undefined) return { status: 'completed', output: [], usage, incomplete_details: null, output_text: '' };

  const outcome = finishOutcome(choice.finishReason);
  const cut = outcome.status === 'incomplete';
  const output: ResponseOutputItem[] = [];
  const { content, refusal, toolCalls } = choice;
  if (content !== '' || refusal !== '' || toolCalls.length === 0) {
    const parts: ContentPart[] = [];
    if (content !== '' || refusal === '') parts.push({ type: 'output_text', text: content });
    if (refusal !== '') parts.push({ type: 'refusal', refusal });
    const status = cut && toolCalls.length === 0 ? 'incomplete' : 'completed';
    output.push(outputMessage(messageItemId(ctx.itemIdSeed), parts, status));
  }
  for (const [n, call] of toolCalls.entries()) {
    output.push(
      functionCallItem({
        id: functionCallItemId(ctx.itemIdSeed, n),
        callId: call.id ?? fallbackCallId(ctx.itemIdSeed, n),
        name: call.name,
        arguments: call.arguments,
        status: cut ? 'incomplete' : 'completed',
      }),
    );
  }
  return { ...outcome, output, usage, output_text: outputText(output) };
}
