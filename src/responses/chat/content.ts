// The content of one Responses `message` item as Chat Completions message content.
//
// Text-only content becomes a plain string (the parts joined with "\n", as vLLM does when it
// renders parts into a chat template): every self-hosted engine accepts string content for
// every role, while array content is patchy outside `user` messages. Only user messages carry
// images (`image_url` parts), as in Chat Completions. Content chat cannot carry — files,
// images by `file_id` (volley has no file store), images outside user messages, unknown part
// types — is an Invalid rather than silently dropped, so the model never answers a prompt
// the client did not send.
import type { ChatCompletionContentPart } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { isRecord } from '../json.ts';
import { invalid, parseOr, type Invalid } from './invalid.ts';

export type MessageRole = 'user' | 'assistant' | 'system' | 'developer';

export type ChatContent = { ok: true; content: string | ChatCompletionContentPart[] } | Invalid;
export type ChatText = { ok: true; text: string } | Invalid;

const TextPart = z.object({ text: z.string() });
const RefusalPart = z.object({ refusal: z.string() });
const ImagePart = z.object({
  image_url: z.string().nullish(),
  file_id: z.string().nullish(),
  detail: z.enum(['low', 'high', 'auto', 'original']).nullish(),
});

/** `param` is the path of the content field, e.g. `input[3].content`. */
export function toChatContent(content: unknown, role: MessageRole, param: string): ChatContent {
  if (typeof content === 'string') return { ok: true, content };
  if (!Array.isArray(content)) return invalid(param, `Invalid '${param}': expected a string or an array of content parts.`);

  const parts: ChatCompletionContentPart[] = [];
  for (const [j, part] of content.entries()) {
    const at = `${param}[${j}]`;
    const converted = toChatPart(part, role, at);
    if (!converted.ok) return converted;
    parts.push(converted.part);
  }
  return { ok: true, content: parts.every((p) => p.type === 'text') ? joinTexts(parts) : parts };
}

/** Content of a system, developer or assistant message: always text (images are Invalid there). */
export function toChatText(content: unknown, role: Exclude<MessageRole, 'user'>, param: string): ChatText {
  const converted = toChatContent(content, role, param);
  if (!converted.ok) return converted;
  const { content: c } = converted;
  return { ok: true, text: typeof c === 'string' ? c : joinTexts(c) };
}

function joinTexts(parts: readonly ChatCompletionContentPart[]): string {
  return parts.map((p) => (p.type === 'text' ? p.text : '')).join('\n');
}

type ChatPart = { ok: true; part: ChatCompletionContentPart } | Invalid;

function toChatPart(part: unknown, role: MessageRole, at: string): ChatPart {
  if (!isRecord(part) || typeof part.type !== 'string') {
    return invalid(at, `Invalid '${at}': expected a content part object with a 'type'.`);
  }
  switch (part.type) {
    case 'input_text':
    case 'output_text': {
      const parsed = parseOr(TextPart, part, at);
      if (!parsed.ok) return parsed;
      return { ok: true, part: { type: 'text', text: parsed.data.text } };
    }
    case 'refusal': {
      // An earlier refusal is part of the conversation; chat-only models know no refusal
      // field, so it is replayed as the assistant's words.
      const parsed = parseOr(RefusalPart, part, at);
      if (!parsed.ok) return parsed;
      return { ok: true, part: { type: 'text', text: parsed.data.refusal } };
    }
    case 'input_image':
      return toImagePart(part, role, at);
    case 'input_file':
      return invalid(at, `Invalid '${at}': input_file content is not supported for this model.`);
    default:
      return invalid(`${at}.type`, `Invalid '${at}.type': content type '${part.type}' is not supported for this model.`);
  }
}

function toImagePart(part: Record<string, unknown>, role: MessageRole, at: string): ChatPart {
  if (role !== 'user') {
    return invalid(at, `Invalid '${at}': input_image content is only supported in user messages for this model.`);
  }
  const parsed = parseOr(ImagePart, part, at);
  if (!parsed.ok) return parsed;
  const { image_url: url, file_id: fileId, detail } = parsed.data;
  if (typeof url === 'string' && url !== '') {
    // Chat knows auto/low/high; 'original' has no equivalent, so the engine's default applies.
    const chatDetail = detail === 'low' || detail === 'high' || detail === 'auto' ? { detail } : {};
    return { ok: true, part: { type: 'image_url', image_url: { url, ...chatDetail } } };
  }
  if (typeof fileId === 'string' && fileId !== '') {
    return invalid(`${at}.file_id`, `Invalid '${at}.file_id': images by file_id are not supported for this model; send image_url (a URL or a data URL).`);
  }
  return invalid(`${at}.image_url`, `Invalid '${at}.image_url': an input_image needs an image_url.`);
}
