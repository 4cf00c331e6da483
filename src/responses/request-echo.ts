// The request settings every Open Responses object echoes (ResponseResource in the Open
// Responses specification), read from the body the client sent, with the specification's
// documented default wherever the request did not set a field. Pure: no I/O, and no input
// makes it throw: a value of the wrong type gets the default (the upstream would have refused
// the request anyway, so the echo only has to stay well-formed).
import { isRecord } from './json.ts';

export const TOOL_CHOICE_MODES = ['none', 'auto', 'required'] as const;
export const TRUNCATION_MODES = ['auto', 'disabled'] as const;
export const VERBOSITIES = ['low', 'medium', 'high'] as const;
// The specification's ReasoningEffortEnum, plus `minimal`: its own enum descriptions and the
// OpenAI SDK both list it, and an upstream that reports it should not lose it.
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
export const REASONING_SUMMARIES = ['concise', 'detailed', 'auto'] as const;
export const SERVICE_TIERS = ['auto', 'default', 'flex', 'priority'] as const;

/** A function tool in the Responses shape, every field the specification requires present. */
export interface FunctionTool {
  type: 'function';
  name: string;
  description: string | null;
  parameters: Record<string, unknown> | null;
  strict: boolean | null;
  [field: string]: unknown;
}

/** Function tools normalised; any other tool object (hosted tools) as the client gave it. */
export type Tool = FunctionTool | { type: string; [field: string]: unknown };

export type ToolChoice =
  | (typeof TOOL_CHOICE_MODES)[number]
  | { type: string; [field: string]: unknown };

export interface TextFormat {
  type: string;
  [field: string]: unknown;
}

export interface TextConfig {
  format: TextFormat;
  verbosity?: (typeof VERBOSITIES)[number];
}

export interface ReasoningConfig {
  effort: (typeof REASONING_EFFORTS)[number] | null;
  summary: (typeof REASONING_SUMMARIES)[number] | null;
  [field: string]: unknown;
}

/** What a response object says about the request that produced it. */
export interface RequestEcho {
  /** The model asked for ('' when the body names none: the gateway refuses such requests). */
  model: string;
  instructions: string | null;
  tools: Tool[];
  tool_choice: ToolChoice;
  text: TextConfig;
  truncation: (typeof TRUNCATION_MODES)[number];
  temperature: number;
  top_p: number;
  presence_penalty: number;
  frequency_penalty: number;
  top_logprobs: number;
  parallel_tool_calls: boolean;
  max_output_tokens: number | null;
  max_tool_calls: number | null;
  store: boolean;
  background: boolean;
  service_tier: string;
  metadata: Record<string, string>;
  previous_response_id: string | null;
  reasoning: ReasoningConfig | null;
  safety_identifier: string | null;
  prompt_cache_key: string | null;
  /** Not required by the specification; the OpenAI API and SDK carry it. */
  user: string | null;
}

/**
 * The settings echoed for the request `body` (parsed JSON, or anything else). A Responses
 * request is read as the Responses API defines it; the Chat Completions spellings of the
 * same settings (`tools[].function`, `max_completion_tokens`/`max_tokens`,
 * `response_format`, `reasoning_effort`) are read too, so a recorded chat request maps to
 * the same echo as its Responses equivalent.
 */
export function requestEcho(body: unknown): RequestEcho {
  const b = isRecord(body) ? body : {};
  return {
    model: stringOr(b.model, ''),
    instructions: stringOr(b.instructions, null),
    tools: Array.isArray(b.tools) ? normaliseTools(b.tools) : [],
    tool_choice: normaliseToolChoice(b.tool_choice) ?? 'auto',
    text: normaliseText(b.text) ?? textFromChatFormat(b.response_format) ?? { format: { type: 'text' } },
    truncation: oneOf(TRUNCATION_MODES, b.truncation) ?? 'disabled',
    temperature: numberOr(b.temperature, 1),
    top_p: numberOr(b.top_p, 1),
    presence_penalty: numberOr(b.presence_penalty, 0),
    frequency_penalty: numberOr(b.frequency_penalty, 0),
    top_logprobs: integerOr(b.top_logprobs, 0),
    parallel_tool_calls: booleanOr(b.parallel_tool_calls, true),
    max_output_tokens: integerOr(b.max_output_tokens, integerOr(b.max_completion_tokens, integerOr(b.max_tokens, null))),
    max_tool_calls: integerOr(b.max_tool_calls, null),
    store: booleanOr(b.store, true),
    background: booleanOr(b.background, false),
    // volley records an absent tier as `default` (src/gateway/create-request.ts).
    service_tier: oneOf(SERVICE_TIERS, b.service_tier) ?? 'default',
    metadata: normaliseMetadata(b.metadata) ?? {},
    previous_response_id: stringOr(b.previous_response_id, null),
    reasoning: normaliseReasoning(b.reasoning) ?? chatReasoning(b.reasoning_effort) ?? { effort: null, summary: null },
    safety_identifier: stringOr(b.safety_identifier, null),
    prompt_cache_key: stringOr(b.prompt_cache_key, null),
    user: stringOr(b.user, null),
  };
}

/**
 * Tools in the Responses shape: a function tool (Responses or Chat Completions spelling)
 * gets `description: null`, `parameters: null` and `strict: true` (the specification's
 * default) when it leaves them out; another tool object is kept as given; an entry that is not
 * a tool (no string `type`, or a function without a name) is dropped.
 */
export function normaliseTools(tools: unknown[]): Tool[] {
  const out: Tool[] = [];
  for (const tool of tools) {
    if (!isRecord(tool) || typeof tool.type !== 'string') continue;
    if (tool.type !== 'function') {
      out.push({ ...tool, type: tool.type });
      continue;
    }
    const fn = isRecord(tool.function) ? { ...tool.function, ...withoutNested(tool) } : tool;
    if (typeof fn.name !== 'string' || fn.name === '') continue;
    out.push({
      ...fn,
      type: 'function',
      name: fn.name,
      description: stringOr(fn.description, null),
      parameters: isRecord(fn.parameters) ? fn.parameters : null,
      strict: typeof fn.strict === 'boolean' || fn.strict === null ? fn.strict : true,
    });
  }
  return out;
}

/** A tool choice the specification can express, or undefined for anything else. */
export function normaliseToolChoice(value: unknown): ToolChoice | undefined {
  const mode = oneOf(TOOL_CHOICE_MODES, value);
  if (mode !== undefined) return mode;
  if (!isRecord(value) || typeof value.type !== 'string') return undefined;
  if (value.type === 'function') {
    // The Chat Completions spelling nests the name: {type:"function", function:{name}}.
    const name = isRecord(value.function) ? value.function.name : value.name;
    return typeof name === 'string' ? { type: 'function', name } : undefined;
  }
  if (value.type === 'allowed_tools') {
    if (!Array.isArray(value.tools)) return undefined;
    return { ...value, type: 'allowed_tools', mode: oneOf(TOOL_CHOICE_MODES, value.mode) ?? 'auto' };
  }
  return { ...value, type: value.type };
}

/** A `text` setting with a format the specification knows, or undefined. */
export function normaliseText(value: unknown): TextConfig | undefined {
  if (!isRecord(value)) return undefined;
  const { format: given, verbosity: givenVerbosity, ...rest } = value;
  const format = given === undefined || given === null ? { type: 'text' } : normaliseFormat(given);
  if (format === undefined) return undefined;
  const verbosity = oneOf(VERBOSITIES, givenVerbosity);
  return { ...rest, format, ...(verbosity !== undefined ? { verbosity } : {}) };
}

/** `reasoning` with both fields the specification requires (null when not set), or undefined. */
export function normaliseReasoning(value: unknown): ReasoningConfig | undefined {
  if (!isRecord(value)) return undefined;
  return {
    ...value,
    effort: oneOf(REASONING_EFFORTS, value.effort) ?? null,
    summary: oneOf(REASONING_SUMMARIES, value.summary) ?? null,
  };
}

function normaliseFormat(value: unknown): TextFormat | undefined {
  if (!isRecord(value)) return undefined;
  if (value.type === 'text' || value.type === 'json_object') return { ...value, type: value.type };
  if (value.type !== 'json_schema' || typeof value.name !== 'string') return undefined;
  return {
    ...value,
    type: 'json_schema',
    name: value.name,
    description: stringOr(value.description, null),
    schema: isRecord(value.schema) ? value.schema : null,
    // The request parameter's documented default.
    strict: booleanOr(value.strict, false),
  };
}

/** Chat's `response_format` ({type:"json_schema", json_schema:{…}}) as a Responses text config. */
function textFromChatFormat(value: unknown): TextConfig | undefined {
  if (!isRecord(value)) return undefined;
  const flat = value.type === 'json_schema' && isRecord(value.json_schema) ? { ...value.json_schema, type: 'json_schema' } : value;
  const format = normaliseFormat(flat);
  return format === undefined ? undefined : { format };
}

function chatReasoning(effort: unknown): ReasoningConfig | undefined {
  const known = oneOf(REASONING_EFFORTS, effort);
  return known === undefined ? undefined : { effort: known, summary: null };
}

/** Metadata's string values (the only kind the specification allows); undefined when not an object. */
function normaliseMetadata(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

function withoutNested(tool: Record<string, unknown>): Record<string, unknown> {
  const { function: _nested, ...rest } = tool;
  return rest;
}

export function oneOf<T extends string>(values: readonly T[], value: unknown): T | undefined {
  return typeof value === 'string' && (values as readonly string[]).includes(value) ? (value as T) : undefined;
}

function stringOr<T>(value: unknown, fallback: T): string | T {
  return typeof value === 'string' ? value : fallback;
}

function numberOr<T>(value: unknown, fallback: T): number | T {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function integerOr<T>(value: unknown, fallback: T): number | T {
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}

function booleanOr(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}
