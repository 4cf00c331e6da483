// A recorded chat completion (or embeddings list) as the parts of a Responses object: output
// items, usage, and whether the answer was cut short. Used when GET maps a row recorded on
// /v1/chat/completions. Pure: no I/O, and no input makes it throw.
import { isRecord } from './json.ts';
import { usageOf, type IncompleteDetails, type ResponseUsage } from './resource.ts';

export interface ChatMapping {
  output: unknown[];
  usage?: ResponseUsage;
  status: 'completed' | 'incomplete';
  incompleteDetails: IncompleteDetails | null;
}

// finish_reason values that mean the model did not finish, with the Responses reason for each.
const INCOMPLETE_REASONS: ReadonlyMap<unknown, string> = new Map([
  ['length', 'max_output_tokens'],
  ['content_filter', 'content_filter'],
]);

/**
 * The first choice of a chat completion as Responses output: one assistant `message` item
 * with its text (and refusal), followed by one `function_call` item per tool call. A reply
 * that is only tool calls has no message item. Item ids derive from the response id, so
 * every GET returns the same ids. `finish_reason: "length"` (or `"content_filter"`) makes the
 * response `incomplete`, as the Responses API reports it.
 */
export function mapChatCompletion(body: Record<string, unknown>, uuid: string): ChatMapping {
  const choices = Array.isArray(body.choices) ? (body.choices as unknown[]) : [];
  const choice = choices[0];
  const message = isRecord(choice) && isRecord(choice.message) ? choice.message : {};
  const reason = isRecord(choice) ? INCOMPLETE_REASONS.get(choice.finish_reason) : undefined;
  const hex = uuid.replaceAll('-', '').toLowerCase();
  const content = messageContent(message);
  const calls = functionCallItems(message.tool_calls, hex);
  const items: unknown[] = [];
  if (content.length > 0 || calls.length === 0) {
    const status = reason === undefined ? 'completed' : 'incomplete';
    items.push({ type: 'message', id: `msg_${hex}`, status, role: 'assistant', content });
  }
  const usage = chatUsage(body.usage);
  return {
    output: [...items, ...calls],
    ...(usage !== undefined ? { usage } : {}),
    status: reason === undefined ? 'completed' : 'incomplete',
    incompleteDetails: reason === undefined ? null : { reason },
  };
}

/** Chat-completion (and embeddings) usage renamed to the Responses API's fields. */
export function chatUsage(value: unknown): ResponseUsage | undefined {
  if (!isRecord(value) || typeof value.prompt_tokens !== 'number') return undefined;
  const input = value.prompt_tokens;
  // Embeddings report no completion tokens.
  const output = typeof value.completion_tokens === 'number' ? value.completion_tokens : 0;
  const total = typeof value.total_tokens === 'number' ? value.total_tokens : input + output;
  return usageOf(input, output, total, {
    cached: numberAt(value.prompt_tokens_details, 'cached_tokens'),
    reasoning: numberAt(value.completion_tokens_details, 'reasoning_tokens'),
  });
}

function numberAt(value: unknown, key: string): number | undefined {
  if (!isRecord(value)) return undefined;
  const found = value[key];
  return typeof found === 'number' ? found : undefined;
}

function messageContent(message: Record<string, unknown>): unknown[] {
  const parts: unknown[] = [];
  const { content, refusal } = message;
  if (typeof content === 'string') parts.push(outputText(content));
  // Some servers return content as an array of parts; keep the text ones.
  if (Array.isArray(content)) {
    for (const part of content) {
      if (isRecord(part) && typeof part.text === 'string') parts.push(outputText(part.text));
    }
  }
  if (typeof refusal === 'string') parts.push({ type: 'refusal', refusal });
  return parts;
}

function outputText(text: string): Record<string, unknown> {
  return { type: 'output_text', text, annotations: [] };
}

function functionCallItems(toolCalls: unknown, hex: string): unknown[] {
  if (!Array.isArray(toolCalls)) return [];
  return toolCalls.filter(isRecord).map((call, index) => {
    const fn = isRecord(call.function) ? call.function : {};
    return {
      type: 'function_call',
      id: `fc_${hex}_${index}`,
      call_id: typeof call.id === 'string' ? call.id : `call_${hex}_${index}`,
      name: typeof fn.name === 'string' ? fn.name : '',
      arguments: typeof fn.arguments === 'string' ? fn.arguments : '',
      status: 'completed',
    };
  });
}
