/**
 * zod schemas for the parts of chat and responses request bodies the development upstream
 * reads or echoes, and the normalisation of their tools and `tool_choice` into one shape.
 * Pure: no I/O. Only the fields it uses are checked; every other field is ignored, as before.
 */
import { z } from 'zod';
import { badRequest, type Answer } from './answer.ts';
import type { ToolChoice } from './tool-calls.ts';

/** The Responses API's pattern for function names (also enforced for chat tools here). */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const count = z.int().min(0).nullish();
const number = z.number().nullish();
const string = z.string().nullish();
const choiceMode = z.enum(['none', 'auto', 'required']);

export const responsesSettingsSchema = z.object({
  input: z.union([z.string(), z.array(z.unknown())], { error: 'expected a string or an array of input items' }).nullish(),
  instructions: z.string({ error: 'expected a string' }).nullish(),
  background: z.boolean().nullish(),
  frequency_penalty: number,
  max_output_tokens: count,
  max_tool_calls: count,
  metadata: z.record(z.string(), z.string()).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  presence_penalty: number,
  previous_response_id: string,
  prompt_cache_key: string,
  reasoning: z
    .looseObject({
      effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullish(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
    })
    .nullish(),
  safety_identifier: string,
  service_tier: z.enum(['auto', 'default', 'flex', 'priority', 'scale']).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  temperature: number,
  text: z
    .looseObject({
      format: z.looseObject({ type: z.string() }).nullish(),
      verbosity: z.enum(['low', 'medium', 'high']).nullish(),
    })
    .nullish(),
  tool_choice: z.unknown().optional(),
  tools: z.array(z.unknown()).nullish(),
  top_logprobs: count,
  top_p: number,
  truncation: z.enum(['auto', 'disabled']).nullish(),
  user: string,
});
export type ResponsesSettings = z.infer<typeof responsesSettingsSchema>;

export const chatSettingsSchema = z.object({
  messages: z.array(z.unknown(), { error: "'messages' is a required property and must be an array" }),
  max_completion_tokens: count,
  max_tokens: count,
  parallel_tool_calls: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  tool_choice: z.unknown().optional(),
  tools: z.array(z.unknown()).nullish(),
});
export type ChatSettings = z.infer<typeof chatSettingsSchema>;

const functionFields = {
  name: z.string().regex(TOOL_NAME, 'expected 1 to 64 letters, digits, underscores or dashes'),
  description: string,
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
};
const responsesFunctionTool = z.looseObject({ type: z.literal('function'), ...functionFields });
const chatFunctionTool = z.looseObject({ type: z.literal('function'), function: z.looseObject(functionFields) });
const anyTool = z.looseObject({ type: z.string() });

const choiceBase = z.union([choiceMode, anyTool]).nullish();
const responsesFunctionChoice = z.looseObject({ type: z.literal('function'), name: z.string() });
const responsesAllowedChoice = z.looseObject({
  type: z.literal('allowed_tools'),
  mode: choiceMode.optional(),
  tools: z.array(z.looseObject({ type: z.string(), name: z.string().optional() })),
});
const chatFunctionChoice = z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) });
const chatAllowedChoice = z.looseObject({
  type: z.literal('allowed_tools'),
  allowed_tools: z.looseObject({
    mode: choiceMode.optional(),
    tools: z.array(z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string() }).optional() })),
  }),
});

export interface ToolSetup {
  /** Names of the function tools the model may call, in the order offered. */
  names: string[];
  choice: ToolChoice;
}

export interface ResponsesToolSetup extends ToolSetup {
  /** `tools` as a Responses object echoes them (function tools in the Responses shape). */
  echoTools: unknown[];
  /** `tool_choice` as a Responses object echoes it. */
  echoChoice: unknown;
}

/** Parses `body` with `schema`; a failure becomes the API's 400 naming the first bad field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T | Answer {
  const parsed = schema.safeParse(body);
  return parsed.success ? parsed.data : invalid(parsed.error, [], body);
}

/** The 400 for the first issue of `error`; `value` is what was parsed, at `prefix` in the body. */
function invalid(error: z.ZodError, prefix: readonly PropertyKey[], value: unknown): Answer {
  const issue = error.issues[0];
  const path = issue?.path ?? [];
  const param = [...prefix, ...path].reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? String(key) : `${text}.${String(key)}`),
    '',
  );
  if (issue?.code === 'invalid_type' && valueAt(value, path) === undefined) {
    return badRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  }
  const code = issue?.code === 'invalid_type' ? 'invalid_type' : 'invalid_value';
  return badRequest(`Invalid '${param}': ${issue?.message ?? 'invalid value'}.`, param, code);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** True for an Answer (a parse failure) as opposed to parsed data. */
export function isAnswer(value: object): value is Answer {
  return 'kind' in value && typeof value.kind === 'string';
}

/** The tools and tool_choice of a responses request. */
export function responsesTools(tools: readonly unknown[] | null | undefined, toolChoice: unknown): ResponsesToolSetup | Answer {
  const names: string[] = [];
  const echoTools: unknown[] = [];
  for (const [i, tool] of (tools ?? []).entries()) {
    const base = anyTool.safeParse(tool);
    if (!base.success) return invalid(base.error, ['tools', i], tool);
    if (base.data.type !== 'function') {
      echoTools.push(tool);
      continue;
    }
    const fn = responsesFunctionTool.safeParse(tool);
    if (!fn.success) return invalid(fn.error, ['tools', i], tool);
    names.push(fn.data.name);
    echoTools.push(echoFunctionTool(fn.data));
  }
  const base = choiceBase.safeParse(toolChoice);
  if (!base.success) return invalid(base.error, ['tool_choice'], toolChoice);
  const c = base.data;
  let setup: ToolSetup;
  let echoChoice: unknown = c;
  if (c === null || c === undefined) {
    setup = { names, choice: { mode: 'auto' } };
    echoChoice = 'auto';
  } else if (typeof c === 'string') {
    setup = { names, choice: { mode: c } };
  } else if (c.type === 'function') {
    const fn = responsesFunctionChoice.safeParse(c);
    if (!fn.success) return invalid(fn.error, ['tool_choice'], c);
    setup = { names, choice: { mode: 'function', name: fn.data.name } };
    echoChoice = { type: 'function', name: fn.data.name };
  } else if (c.type === 'allowed_tools') {
    const allowed = responsesAllowedChoice.safeParse(c);
    if (!allowed.success) return invalid(allowed.error, ['tool_choice'], c);
    const mode = allowed.data.mode ?? 'auto';
    const list = allowed.data.tools.flatMap((t) => (t.type === 'function' && t.name !== undefined ? [t.name] : []));
    setup = { names: names.filter((n) => list.includes(n)), choice: { mode } };
    echoChoice = { type: 'allowed_tools', mode, tools: allowed.data.tools };
  } else {
    // A hosted tool (web search, …) is forced: the server cannot run it, so it answers text.
    setup = { names, choice: { mode: 'none' } };
  }
  const refused = checkChoice(setup);
  return refused ?? { ...setup, echoTools, echoChoice };
}

/** The tools and tool_choice of a chat request. */
export function chatTools(tools: readonly unknown[] | null | undefined, toolChoice: unknown): ToolSetup | Answer {
  const names: string[] = [];
  for (const [i, tool] of (tools ?? []).entries()) {
    const base = anyTool.safeParse(tool);
    if (!base.success) return invalid(base.error, ['tools', i], tool);
    if (base.data.type !== 'function') continue;
    const fn = chatFunctionTool.safeParse(tool);
    if (!fn.success) return invalid(fn.error, ['tools', i], tool);
    names.push(fn.data.function.name);
  }
  const base = choiceBase.safeParse(toolChoice);
  if (!base.success) return invalid(base.error, ['tool_choice'], toolChoice);
  const c = base.data;
  let setup: ToolSetup;
  if (c === null || c === undefined) {
    setup = { names, choice: { mode: 'auto' } };
  } else if (typeof c === 'string') {
    setup = { names, choice: { mode: c } };
  } else if (c.type === 'function') {
    const fn = chatFunctionChoice.safeParse(c);
    if (!fn.success) return invalid(fn.error, ['tool_choice'], c);
    setup = { names, choice: { mode: 'function', name: fn.data.function.name } };
  } else if (c.type === 'allowed_tools') {
    const allowed = chatAllowedChoice.safeParse(c);
    if (!allowed.success) return invalid(allowed.error, ['tool_choice'], c);
    const list = allowed.data.allowed_tools.tools.flatMap((t) => (t.function !== undefined ? [t.function.name] : []));
    setup = { names: names.filter((n) => list.includes(n)), choice: { mode: allowed.data.allowed_tools.mode ?? 'auto' } };
  } else {
    setup = { names, choice: { mode: 'none' } };
  }
  return checkChoice(setup) ?? setup;
}

/** Refuses a forced tool_choice that cannot be honoured, the way the API does. */
function checkChoice(setup: ToolSetup): Answer | undefined {
  const { choice, names } = setup;
  if (choice.mode === 'function' && !names.includes(choice.name)) {
    return badRequest(`Tool choice 'function' names '${choice.name}', which is not in the 'tools' parameter.`, 'tool_choice');
  }
  if (choice.mode === 'required' && names.length === 0) {
    return badRequest("Tool choice 'required' must be specified with at least one function in 'tools'.", 'tool_choice');
  }
  return undefined;
}

/** A function tool as a Responses object lists it; `strict` defaults to true there. */
function echoFunctionTool(tool: z.infer<typeof responsesFunctionTool>): unknown {
  return {
    type: 'function',
    name: tool.name,
    description: tool.description ?? null,
    parameters: tool.parameters ?? null,
    strict: tool.strict ?? true,
  };
}
