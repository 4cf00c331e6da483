// A complete Open Responses `ResponseResource` (DESIGN 11, "Complete objects"): every field
// the specification requires, present and of its type, whatever the upstream sent. Pure: no
// I/O, and no input makes it throw.
import { isRecord } from './json.ts';
import {
  normaliseReasoning,
  normaliseText,
  normaliseToolChoice,
  normaliseTools,
  oneOf,
  TRUNCATION_MODES,
  type RequestEcho,
} from './request-echo.ts';
import { normaliseError, type ResponseError } from './response-error.ts';

export const RESPONSE_STATUSES = ['queued', 'in_progress', 'completed', 'failed', 'incomplete', 'cancelled'] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; [field: string]: unknown };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number; [field: string]: unknown };
  total_tokens: number;
  // An upstream's usage is kept whole, with whatever else it reports.
  [field: string]: unknown;
}

export interface IncompleteDetails {
  reason: string;
  [field: string]: unknown;
}

/** The complete response object. Fields the specification does not know are kept. */
export type ResponseResource = RequestEcho & {
  id: string;
  object: 'response';
  /** Unix seconds. */
  created_at: number;
  /** Unix seconds at which the response became terminal; null before. */
  completed_at: number | null;
  status: ResponseStatus;
  incomplete_details: IncompleteDetails | null;
  model: string;
  output: unknown[];
  error: ResponseError | null;
  usage: ResponseUsage | null;
  [field: string]: unknown;
};

/** Fields that win over everything else (`id` always: volley's `resp_<uuid>`). */
export type ResourceOverrides = Partial<ResponseResource> & { id: string };

/** Values used only when the upstream object has no valid value of its own. */
export interface ResourceFallbacks {
  /** Pass one unless the upstream object is sure to carry it: without either, it is 0. */
  created_at?: number;
  completed_at?: number | null;
  model?: string;
  usage?: ResponseUsage | null;
}

/**
 * `base` (an upstream's own Responses object, possibly incomplete, or undefined when there is
 * none) completed into a ResponseResource. Each field is the override when there is one;
 * else the base's value when it has the specification's type; else, for `created_at`,
 * `completed_at`, `model` and `usage`, the fallback; else the echo of the request (which
 * carries the specification's defaults). A base setting that is null is taken as not
 * reported and echoed from the request, which gives null when the request did not set it
 * either. `completed_at`, `error`, `usage` and `incomplete_details` describe the outcome, not
 * the request: they are never echoed, and are null when neither base nor fallback has one.
 * Output items are kept as the upstream sent them. Base fields the specification does not
 * know are kept (clients may rely on them); a known field of the wrong type is replaced.
 *
 * Four settings are volley's own rather than the upstream's, so the echo of the client's
 * request wins over the base: `background` and `service_tier` (volley runs background and flex
 * requests itself and strips both before calling the upstream), `previous_response_id` (volley
 * expands the chain and sends none upstream) and `store` (volley decides what it keeps).
 *
 * The result depends only on the arguments, and completing a completed object again with the
 * same arguments returns an equal object: the POST answer and a later GET built from the same
 * upstream object and request body are the same object.
 */
export function completeResponseObject(
  base: Record<string, unknown> | undefined,
  echo: RequestEcho,
  overrides: ResourceOverrides,
  fallbacks: ResourceFallbacks = {},
): ResponseResource {
  const b = base ?? {};
  const filled: ResponseResource = {
    ...echo,
    id: overrides.id,
    object: 'response',
    created_at: integer(b.created_at) ?? fallbacks.created_at ?? 0,
    completed_at: integer(b.completed_at) ?? fallbacks.completed_at ?? null,
    status: oneOf(RESPONSE_STATUSES, b.status) ?? 'completed',
    incomplete_details: incompleteDetails(b.incomplete_details),
    model: typeof b.model === 'string' && b.model !== '' ? b.model : (fallbacks.model ?? echo.model),
    instructions: stringOrUndefined(b.instructions) ?? echo.instructions,
    output: Array.isArray(b.output) ? [...(b.output as unknown[])] : [],
    error: normaliseError(b.error) ?? null,
    tools: Array.isArray(b.tools) ? normaliseTools(b.tools) : echo.tools,
    tool_choice: normaliseToolChoice(b.tool_choice) ?? echo.tool_choice,
    truncation: oneOf(TRUNCATION_MODES, b.truncation) ?? echo.truncation,
    parallel_tool_calls: typeof b.parallel_tool_calls === 'boolean' ? b.parallel_tool_calls : echo.parallel_tool_calls,
    text: normaliseText(b.text) ?? echo.text,
    temperature: finite(b.temperature) ?? echo.temperature,
    top_p: finite(b.top_p) ?? echo.top_p,
    presence_penalty: finite(b.presence_penalty) ?? echo.presence_penalty,
    frequency_penalty: finite(b.frequency_penalty) ?? echo.frequency_penalty,
    top_logprobs: integer(b.top_logprobs) ?? echo.top_logprobs,
    reasoning: normaliseReasoning(b.reasoning) ?? echo.reasoning,
    usage: normaliseUsage(b.usage) ?? fallbacks.usage ?? null,
    max_output_tokens: integer(b.max_output_tokens) ?? echo.max_output_tokens,
    max_tool_calls: integer(b.max_tool_calls) ?? echo.max_tool_calls,
    metadata: stringValues(b.metadata) ?? echo.metadata,
    safety_identifier: stringOrUndefined(b.safety_identifier) ?? echo.safety_identifier,
    prompt_cache_key: stringOrUndefined(b.prompt_cache_key) ?? echo.prompt_cache_key,
    user: stringOrUndefined(b.user) ?? echo.user,
  };
  return { ...b, ...filled, ...definedOnly(overrides), object: 'response' };
}

/**
 * An upstream's usage with the details objects the specification requires (0 where it
 * reports none) and a total computed when missing; undefined unless it has integer input and
 * output token counts.
 */
export function normaliseUsage(value: unknown): ResponseUsage | undefined {
  if (!isRecord(value)) return undefined;
  const input = count(value.input_tokens);
  const output = count(value.output_tokens);
  if (input === undefined || output === undefined) return undefined;
  return {
    ...value,
    input_tokens: input,
    input_tokens_details: withCount(value.input_tokens_details, 'cached_tokens'),
    output_tokens: output,
    output_tokens_details: withCount(value.output_tokens_details, 'reasoning_tokens'),
    total_tokens: count(value.total_tokens) ?? input + output,
  };
}

// A source that does not report cached or reasoning tokens has none to report, hence 0.
/** Usage from plain counts, with the details objects the specification requires. */
export function usageOf(
  input: number,
  output: number,
  total: number,
  details: { cached?: number; reasoning?: number } = {},
): ResponseUsage {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: details.cached ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: details.reasoning ?? 0 },
    total_tokens: total,
  };
}

function withCount<K extends string>(value: unknown, key: K): { [field: string]: unknown } & Record<K, number> {
  const details = isRecord(value) ? value : {};
  return { ...details, [key]: count(details[key]) ?? 0 } as { [field: string]: unknown } & Record<K, number>;
}

function incompleteDetails(value: unknown): IncompleteDetails | null {
  return isRecord(value) && typeof value.reason === 'string' ? { ...value, reason: value.reason } : null;
}

function stringValues(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

function definedOnly(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function integer(value: unknown): number | undefined {
  return isInteger(value) ? value : undefined;
}

function count(value: unknown): number | undefined {
  return isInteger(value) && value >= 0 ? value : undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
