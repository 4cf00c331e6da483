// Responses `tools` / `tool_choice` → Chat Completions. Only function tools exist in chat
// (hosted tools such as web_search run on the OpenAI platform, not in a chat-only engine), so
// any other tool is Invalid rather than silently ignored.
import type { ChatCompletionFunctionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { isRecord } from '../json.ts';
import { invalid, parseOr, type Invalid } from './invalid.ts';

const FunctionTool = z.object({
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const NamedFunction = z.object({ name: z.string().min(1) });

const AllowedTools = z.object({
  mode: z.enum(['auto', 'required']),
  tools: z.array(z.looseObject({ type: z.literal('function', { error: 'only function tools are supported for this model' }), name: z.string().min(1) })),
});

export type ChatTools = { ok: true; tools: ChatCompletionFunctionTool[] } | Invalid;

/**
 * Function tools in chat's shape (`{type, function: {name, description, parameters, strict}}`).
 * `strict` is forwarded only when the client set it: Responses defaults it to true, chat to
 * false, and engines that cannot enforce it may reject it.
 */
export function toChatTools(tools: unknown): ChatTools {
  if (tools === null || tools === undefined) return { ok: true, tools: [] };
  if (!Array.isArray(tools)) return invalid('tools', "Invalid 'tools': expected an array of tools.");
  const out: ChatCompletionFunctionTool[] = [];
  for (const [i, tool] of tools.entries()) {
    const type = isRecord(tool) ? tool.type : undefined;
    if (type !== 'function') {
      return invalid('tools', `Invalid 'tools[${i}]': tools of type '${String(type)}' are not supported for this model; only function tools are.`);
    }
    const parsed = parseOr(FunctionTool, tool, `tools[${i}]`);
    if (!parsed.ok) return parsed;
    const { name, description, parameters, strict } = parsed.data;
    out.push({
      type: 'function',
      function: {
        name,
        ...(typeof description === 'string' ? { description } : {}),
        ...(parameters ? { parameters } : {}),
        ...(typeof strict === 'boolean' ? { strict } : {}),
      },
    });
  }
  return { ok: true, tools: out };
}

export type ChatToolChoice =
  | {
      ok: true;
      toolChoice: ChatCompletionToolChoiceOption | undefined;
      /** Set for `allowed_tools`: only these function names may be sent upstream. */
      allowedNames: ReadonlySet<string> | undefined;
    }
  | Invalid;

/**
 * `auto | none | required` as they are; `{type:"function", name}` → `{type:"function",
 * function:{name}}`; `{type:"allowed_tools", mode, tools}` → the mode, with the tool list cut
 * down to the allowed functions (chat's own `allowed_tools` choice is OpenAI-only). Hosted-tool
 * choices are Invalid.
 */
export function toChatToolChoice(choice: unknown): ChatToolChoice {
  if (choice === null || choice === undefined) return { ok: true, toolChoice: undefined, allowedNames: undefined };
  if (choice === 'auto' || choice === 'none' || choice === 'required') {
    return { ok: true, toolChoice: choice, allowedNames: undefined };
  }
  const type = isRecord(choice) ? choice.type : undefined;
  if (type === 'function') {
    const parsed = parseOr(NamedFunction, choice, 'tool_choice');
    if (!parsed.ok) return parsed;
    return { ok: true, toolChoice: { type: 'function', function: { name: parsed.data.name } }, allowedNames: undefined };
  }
  if (type === 'allowed_tools') {
    const parsed = parseOr(AllowedTools, choice, 'tool_choice');
    if (!parsed.ok) return parsed;
    return { ok: true, toolChoice: parsed.data.mode, allowedNames: new Set(parsed.data.tools.map((t) => t.name)) };
  }
  return invalid('tool_choice', `Invalid 'tool_choice': ${typeof type === 'string' ? `'${type}' tool choice` : 'this value'} is not supported for this model; use auto, none, required or a function.`);
}
