// A Responses create body → a Chat Completions create body, for models whose upstream speaks
// only chat (DESIGN 10). Pure: no I/O, and an Invalid value (never a throw) for a body chat
// cannot express.
//
// Not sent: `metadata` (chat's `metadata` is only accepted together with `store`, which
// self-hosted engines lack), `previous_response_id` (the caller expands the chain into
// explicit input items first), and fields with no chat meaning for these engines (`store`,
// `background`, `service_tier`, `truncation`, `include`, `reasoning`, `text.verbosity`, …).
import type {
  ChatCompletionCreateParams,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import { z } from 'zod';
import { isRecord } from '../json.ts';
import { inputToMessages, type InputOptions } from './input.ts';
import { invalid, parseOr, type Invalid } from './invalid.ts';
import { toChatToolChoice, toChatTools } from './tools.ts';

export interface ChatRequestOptions extends InputOptions {
  /**
   * Where `max_output_tokens` goes. Default `max_tokens`: vLLM, SGLang, llama.cpp, TGI and
   * Ollama all accept it, while `max_completion_tokens` (OpenAI's newer name) is not
   * universally supported.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

export type ChatRequest = { ok: true; chat: ChatCompletionCreateParams } | Invalid;

const number = z.number().nullish();

const Body = z.looseObject({
  model: z.string().min(1),
  parallel_tool_calls: z.boolean().nullish(),
  temperature: number,
  top_p: number,
  presence_penalty: number,
  frequency_penalty: number,
  max_output_tokens: z.int().positive().nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  stream: z.boolean().nullish(),
  text: z.looseObject({ format: z.unknown().optional() }).nullish(),
});

const JsonSchemaFormat = z.object({
  name: z.string().min(1),
  schema: z.record(z.string(), z.unknown()),
  strict: z.boolean().nullish(),
  description: z.string().nullish(),
});

type ResponseFormat = NonNullable<ChatCompletionCreateParams['response_format']>;

/**
 * Translates a Responses create body into a Chat Completions create body: instructions and
 * input become messages, function tools and tool_choice are reshaped, sampling fields pass
 * through, `max_output_tokens` becomes `max_tokens`, `text.format` becomes `response_format`,
 * `safety_identifier` (or else `user`) becomes `user`, and `stream: true` asks for usage on
 * the final chunk. `body` is the parsed JSON of a Responses create body (`ResponseCreateParams`),
 * validated here field by field.
 */
export function toChatRequest(body: unknown, opts: ChatRequestOptions = {}): ChatRequest {
  if (!isRecord(body)) return invalid('body', 'The request body must be a JSON object.');
  const parsed = parseOr(Body, body);
  if (!parsed.ok) return parsed;
  const b = parsed.data;

  const messages = inputToMessages(body.input, body.instructions, opts);
  if (!messages.ok) return messages;
  if (messages.messages.length === 0) return invalid('input', "Invalid 'input': the request has no input for the model.");

  const tools = toChatTools(body.tools);
  if (!tools.ok) return tools;
  const choice = toChatToolChoice(body.tool_choice);
  if (!choice.ok) return choice;
  const format = toResponseFormat(b.text?.format);
  if (!format.ok) return format;

  const chat: ChatCompletionCreateParamsNonStreaming = { model: b.model, messages: messages.messages };
  const allowed = choice.allowedNames;
  const sentTools = allowed ? tools.tools.filter((t) => allowed.has(t.function.name)) : tools.tools;
  if (sentTools.length > 0) chat.tools = sentTools;
  if (choice.toolChoice !== undefined) chat.tool_choice = choice.toolChoice;
  if (typeof b.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = b.parallel_tool_calls;
  if (typeof b.temperature === 'number') chat.temperature = b.temperature;
  if (typeof b.top_p === 'number') chat.top_p = b.top_p;
  if (typeof b.presence_penalty === 'number') chat.presence_penalty = b.presence_penalty;
  if (typeof b.frequency_penalty === 'number') chat.frequency_penalty = b.frequency_penalty;
  if (typeof b.max_output_tokens === 'number') chat[opts.maxTokensField ?? 'max_tokens'] = b.max_output_tokens;
  if (format.responseFormat) chat.response_format = format.responseFormat;
  // The platform renamed `user` to `safety_identifier`; self-hosted engines know `user`.
  const user = b.safety_identifier ?? b.user;
  if (typeof user === 'string') chat.user = user;

  if (b.stream === true) return { ok: true, chat: { ...chat, stream: true, stream_options: { include_usage: true } } };
  return { ok: true, chat };
}

type Format = { ok: true; responseFormat: ResponseFormat | undefined } | Invalid;

function toResponseFormat(format: unknown): Format {
  if (format === null || format === undefined) return { ok: true, responseFormat: undefined };
  const type = isRecord(format) ? format.type : undefined;
  if (type === 'text') return { ok: true, responseFormat: undefined };
  if (type === 'json_object') return { ok: true, responseFormat: { type: 'json_object' } };
  if (type === 'json_schema') {
    const parsed = parseOr(JsonSchemaFormat, format, 'text.format');
    if (!parsed.ok) return parsed;
    const { name, schema, strict, description } = parsed.data;
    return {
      ok: true,
      responseFormat: {
        type: 'json_schema',
        json_schema: {
          name,
          schema,
          ...(typeof strict === 'boolean' ? { strict } : {}),
          ...(typeof description === 'string' ? { description } : {}),
        },
      },
    };
  }
  return invalid('text.format', "Invalid 'text.format': expected a format of type 'text', 'json_object' or 'json_schema'.");
}
