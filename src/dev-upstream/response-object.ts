/**
 * The Responses object (the Open Responses `ResponseResource`) the development upstream
 * returns: every required field present, each request setting echoed or its documented
 * default. Pure: no I/O.
 */
import type { Response, ResponseOutputItem, ResponseUsage } from 'openai/resources/responses/responses';
import type { ResponsesSettings, ResponsesToolSetup } from './request-schemas.ts';

/** A response object as the API sends it; `output_text` is computed by the SDKs. */
export type ResponseBody = Omit<Response, 'output_text'>;

/** What changes between the snapshots of one response. */
export interface ResponseState {
  status: 'in_progress' | 'completed' | 'incomplete';
  completed_at: number | null;
  incomplete_details: { reason: 'max_output_tokens' } | null;
  output: ResponseOutputItem[];
  usage: ResponseUsage | null;
}

/** The fields of a response that echo the request: the same in every snapshot. */
export type EchoedSettings = Record<string, unknown>;

/**
 * The echoed request settings of a response, computed once per request. A setting the
 * request leaves out (or sends as null) gets the default the API documents.
 */
export function echoSettings(s: ResponsesSettings, tools: ResponsesToolSetup): EchoedSettings {
  const text = s.text ?? {};
  return {
    background: s.background ?? false,
    frequency_penalty: s.frequency_penalty ?? 0,
    instructions: s.instructions ?? null,
    max_output_tokens: s.max_output_tokens ?? null,
    max_tool_calls: s.max_tool_calls ?? null,
    metadata: s.metadata ?? {},
    parallel_tool_calls: s.parallel_tool_calls ?? true,
    presence_penalty: s.presence_penalty ?? 0,
    previous_response_id: s.previous_response_id ?? null,
    prompt_cache_key: s.prompt_cache_key ?? null,
    reasoning: { effort: s.reasoning?.effort ?? null, summary: s.reasoning?.summary ?? null },
    safety_identifier: s.safety_identifier ?? null,
    // `auto` is resolved to the tier that served the request, which here is always `default`.
    service_tier: s.service_tier === undefined || s.service_tier === null || s.service_tier === 'auto' ? 'default' : s.service_tier,
    store: s.store ?? true,
    temperature: s.temperature ?? 1,
    text: { format: echoFormat(text.format), verbosity: text.verbosity ?? 'medium' },
    tool_choice: tools.echoChoice,
    tools: tools.echoTools,
    top_logprobs: s.top_logprobs ?? 0,
    top_p: s.top_p ?? 1,
    truncation: s.truncation ?? 'disabled',
    user: s.user ?? null,
  };
}

/** `text.format` as the response lists it: a json_schema format gets its optional fields. */
function echoFormat(format: Record<string, unknown> | null | undefined): unknown {
  if (format === null || format === undefined) return { type: 'text' };
  if (format['type'] !== 'json_schema') return format;
  return {
    type: 'json_schema',
    name: format['name'],
    description: format['description'] ?? null,
    schema: format['schema'],
    strict: format['strict'] ?? false,
  };
}

/** One snapshot of the response object. */
export function responseObject(
  id: string,
  model: string,
  createdAt: number,
  settings: EchoedSettings,
  state: ResponseState,
): ResponseBody {
  // The API sends `usage: null` and `user: null`, which the SDK's type does not allow.
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: state.status,
    completed_at: state.completed_at,
    error: null,
    incomplete_details: state.incomplete_details,
    model,
    output: state.output,
    usage: state.usage,
    ...settings,
  } as unknown as ResponseBody;
}
