// Responses `instructions` + `input` → Chat Completions `messages`.
//
// Items chat can express: `message` (every role), `function_call` (→ an assistant message's
// `tool_calls`) and `function_call_output` (→ a `tool` message). The rest falls in two groups:
// - DROPPED: records of what the model or a hosted tool did (reasoning, web searches, …).
//   A chat-only model cannot take them back, and the conversation reads the same without them.
// - Anything else (outputs a client supplies for non-function tools, types this code does not
//   know) is Invalid when it carries content (`content`, `output`, `text`, `input`), because
//   dropping it would make the model answer a conversation the client did not send; an
//   unknown item with no content is dropped. An `item_reference` is always Invalid (its
//   content is stored elsewhere).
import type {
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { z } from 'zod';
import { isRecord } from '../json.ts';
import { toChatContent, toChatText } from './content.ts';
import { invalid, parseOr, type Invalid } from './invalid.ts';

export interface InputOptions {
  /**
   * The chat role for Responses `developer` messages. Default `system`: the chat templates
   * of self-hosted models know system/user/assistant/tool, and few know `developer`.
   */
  developerRole?: 'system' | 'developer';
}

export type Messages = { ok: true; messages: ChatCompletionMessageParam[] } | Invalid;

export const DROPPED_ITEM_TYPES: ReadonlySet<string> = new Set([
  'reasoning',
  'compaction',
  'compaction_trigger',
  'web_search_call',
  'file_search_call',
  'image_generation_call',
  'code_interpreter_call',
  'computer_call',
  'local_shell_call',
  'shell_call',
  'apply_patch_call',
  'custom_tool_call',
  'mcp_list_tools',
  'mcp_call',
  'mcp_approval_request',
  'tool_search_call',
  'tool_search_output',
  'additional_tools',
  'program',
  'program_output',
]);

const CONTENT_FIELDS = ['content', 'output', 'text', 'input'] as const;

const MessageItem = z.object({
  role: z.enum(['user', 'assistant', 'system', 'developer'], {
    error: "expected one of 'user', 'assistant', 'system', 'developer'",
  }),
  content: z.unknown(),
});

const FunctionCallItem = z.object({
  call_id: z.string().min(1),
  name: z.string().min(1),
  // Some clients send the arguments as an object; chat wants the JSON text. Missing
  // arguments become `{}`: chat templates parse them as JSON.
  arguments: z
    .union([z.string(), z.record(z.string(), z.unknown()).transform((v) => JSON.stringify(v))])
    .nullish()
    .transform((v) => v ?? '{}'),
});

const FunctionCallOutputItem = z.object({
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.unknown())]),
});

/**
 * Builds chat messages from a Responses `instructions` (a leading system message) and `input`
 * (a string is one user message). Consecutive `function_call` items become one assistant
 * message with `tool_calls`, merged into a directly preceding assistant message if there is
 * one. Pure; answers an Invalid (never throws) for input chat cannot express.
 */
export function inputToMessages(input: unknown, instructions: unknown, opts: InputOptions = {}): Messages {
  const messages: ChatCompletionMessageParam[] = [];
  if (typeof instructions === 'string') {
    if (instructions !== '') messages.push({ role: 'system', content: instructions });
  } else if (instructions !== null && instructions !== undefined) {
    return invalid('instructions', "Invalid 'instructions': expected a string.");
  }

  if (input === null || input === undefined) return { ok: true, messages };
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input });
    return { ok: true, messages };
  }
  if (!Array.isArray(input)) return invalid('input', "Invalid 'input': expected a string or an array of input items.");

  for (const [i, item] of input.entries()) {
    const failed = addItem(messages, item, `input[${i}]`, opts);
    if (failed) return failed;
  }
  return { ok: true, messages };
}

function addItem(messages: ChatCompletionMessageParam[], item: unknown, at: string, opts: InputOptions): Invalid | undefined {
  if (!isRecord(item)) return invalid(at, `Invalid '${at}': expected an input item object.`);
  // `type` is optional on the easy message form ({ role, content }).
  const type = item.type ?? 'message';
  switch (type) {
    case 'message':
      return addMessage(messages, item, at, opts);
    case 'function_call':
      return addFunctionCall(messages, item, at);
    case 'function_call_output':
      return addFunctionCallOutput(messages, item, at);
    case 'item_reference':
      // The referenced item's content lives in a store this translation does not read.
      return invalid(`${at}.type`, `Invalid '${at}.type': item references are not supported for this model; send the item itself.`);
    default:
      if (typeof type === 'string' && DROPPED_ITEM_TYPES.has(type)) return undefined;
      if (!carriesContent(item)) return undefined;
      return invalid(`${at}.type`, `Invalid '${at}.type': input items of type '${String(type)}' are not supported for this model.`);
  }
}

function carriesContent(item: Record<string, unknown>): boolean {
  return CONTENT_FIELDS.some((field) => {
    const value = item[field];
    if (typeof value === 'string') return value !== '';
    if (Array.isArray(value)) return value.length > 0;
    return isRecord(value);
  });
}

function addMessage(messages: ChatCompletionMessageParam[], item: Record<string, unknown>, at: string, opts: InputOptions): Invalid | undefined {
  const parsed = parseOr(MessageItem, item, at);
  if (!parsed.ok) return parsed;
  const { role, content } = parsed.data;
  if (role === 'user') {
    const converted = toChatContent(content, role, `${at}.content`);
    if (!converted.ok) return converted;
    messages.push({ role: 'user', content: converted.content });
    return undefined;
  }
  const converted = toChatText(content, role, `${at}.content`);
  if (!converted.ok) return converted;
  if (role === 'assistant') messages.push({ role: 'assistant', content: converted.text });
  else if (role === 'developer' && opts.developerRole === 'developer') messages.push({ role: 'developer', content: converted.text });
  else messages.push({ role: 'system', content: converted.text });
  return undefined;
}

function addFunctionCall(messages: ChatCompletionMessageParam[], item: Record<string, unknown>, at: string): Invalid | undefined {
  const parsed = parseOr(FunctionCallItem, item, at);
  if (!parsed.ok) return parsed;
  const call: ChatCompletionMessageFunctionToolCall = {
    id: parsed.data.call_id,
    type: 'function',
    function: { name: parsed.data.name, arguments: parsed.data.arguments },
  };
  const last = messages.at(-1);
  if (last?.role === 'assistant') {
    last.tool_calls = [...(last.tool_calls ?? []), call];
    // An empty text next to tool calls is no text; chat's canonical form is null.
    if (last.content === '') last.content = null;
  } else {
    messages.push({ role: 'assistant', content: null, tool_calls: [call] });
  }
  return undefined;
}

function addFunctionCallOutput(messages: ChatCompletionMessageParam[], item: Record<string, unknown>, at: string): Invalid | undefined {
  const parsed = parseOr(FunctionCallOutputItem, item, at);
  if (!parsed.ok) return parsed;
  const { call_id: callId, output } = parsed.data;
  if (typeof output === 'string') {
    messages.push({ role: 'tool', tool_call_id: callId, content: output });
    return undefined;
  }
  // Chat tool messages carry text only; an image or file a tool returned cannot be sent.
  const texts: string[] = [];
  for (const [j, part] of output.entries()) {
    const text = isRecord(part) && (part.type === 'input_text' || part.type === 'output_text') ? part.text : undefined;
    if (typeof text !== 'string') {
      return invalid(`${at}.output[${j}]`, `Invalid '${at}.output[${j}]': only text function call output is supported for this model.`);
    }
    texts.push(text);
  }
  messages.push({ role: 'tool', tool_call_id: callId, content: texts.join('\n') });
  return undefined;
}
