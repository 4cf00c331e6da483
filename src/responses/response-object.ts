// A recorded request as an Open Responses object (DESIGN 7): what GET /v1/responses/{id}
// and the blocking flex reply return. Pure: no I/O, and no input makes it throw.
import { httpStatusError, parseStoredError, type ParsedError } from './failure-reason.ts';
import { isRecord, parseJson } from './json.ts';
import { toResponseId } from './response-id.ts';
import { decodeResponseBody } from './stored-body.ts';

/**
 * What the mapping reads from a request row. Declared here rather than imported from the
 * schema so the mapping does not depend on the database layer; a `requests` row (which has
 * more columns) satisfies it.
 */
export interface ResponseDetail {
  /** The request uuid, the response id without `resp_`. */
  id: string;
  state: string;
  model: string;
  serviceTier: string | null;
  background: boolean;
  /** The request body as the client sent it. */
  body: string | null;
  createdAt: Date;
  completedAt: Date | null;
  failedAt: Date | null;
  canceledAt: Date | null;
  responseStatus: number | null;
  responseBody: string | null;
  /** Any stored error format (see `parseStoredError`). */
  error: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
}

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

export interface ResponseUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  input_tokens_details?: { cached_tokens: number };
  output_tokens_details?: { reasoning_tokens: number };
  // A Responses API body's usage is copied whole, with whatever else the upstream reports.
  [key: string]: unknown;
}

export interface ResponseObject {
  id: string;
  object: 'response';
  /** Unix seconds. */
  created_at: number;
  status: ResponseStatus;
  model: string;
  background: boolean;
  service_tier: string | null;
  /** Output items, copied from the upstream or built from a chat completion; [] otherwise. */
  output: unknown[];
  /** Present only when the upstream Responses body carried it. */
  output_text?: string;
  /**
   * Unix seconds at which the request became terminal: `completed_at` for completed rows,
   * `failed_at` for failed ones (`completed_at` on legacy completed rows reported as failed),
   * `canceled_at` for cancelled ones. Null while the request is queued or in progress.
   */
  completed_at: number | null;
  /** Null until terminal, and on terminal rows with no usage recorded. */
  usage: ResponseUsage | null;
  /** Set only on failed responses. */
  error: ParsedError | null;
}

const STATUS_BY_STATE: ReadonlyMap<string, ResponseStatus> = new Map([
  ['pending', 'queued'],
  ['claimed', 'in_progress'],
  ['processing', 'in_progress'],
  ['completed', 'completed'],
  ['failed', 'failed'],
  ['canceled', 'cancelled'],
]);

/** The response status for a request state; a state this code does not know is `failed`. */
/** A request just accepted (pending): nothing has happened to it yet. */
export function newRequestDetail(
  r: Pick<ResponseDetail, 'id' | 'model' | 'serviceTier' | 'background' | 'body'> & { createdAt?: Date },
): ResponseDetail {
  return {
    state: 'pending',
    createdAt: new Date(),
    completedAt: null,
    failedAt: null,
    canceledAt: null,
    responseStatus: null,
    responseBody: null,
    error: null,
    promptTokens: null,
    completionTokens: null,
    totalTokens: null,
    ...r,
  };
}

export function responseStatusForState(state: string): ResponseStatus {
  return STATUS_BY_STATE.get(state) ?? 'failed';
}

export function toResponseObject(detail: ResponseDetail): ResponseObject {
  const outcome = outcomeOf(detail);
  return {
    id: toResponseId(detail.id),
    object: 'response',
    created_at: unixSeconds(detail.createdAt),
    status: outcome.status,
    model: detail.model,
    background: requestedBackground(detail),
    service_tier: detail.serviceTier,
    output: outcome.output,
    ...(outcome.outputText !== undefined ? { output_text: outcome.outputText } : {}),
    completed_at: outcome.completedAt,
    usage: outcome.usage,
    error: outcome.error,
  };
}

interface Outcome {
  status: ResponseStatus;
  output: unknown[];
  outputText?: string;
  completedAt: number | null;
  usage: ResponseUsage | null;
  error: ParsedError | null;
}

function outcomeOf(detail: ResponseDetail): Outcome {
  const status = STATUS_BY_STATE.get(detail.state);
  switch (status) {
    case 'queued':
    case 'in_progress':
      return { status, output: [], completedAt: null, usage: null, error: null };
    case 'cancelled':
      return {
        status,
        output: [],
        completedAt: unixSecondsOrNull(detail.canceledAt ?? detail.failedAt ?? detail.completedAt),
        usage: usageFromColumns(detail),
        error: null,
      };
    case 'completed':
      return completedOutcome(detail);
    case 'failed':
      return failedOutcome(detail, storedError(detail));
    case undefined:
      return failedOutcome(detail, {
        type: 'server_error',
        code: 'unknown_state',
        message: `The request is in an unknown state '${detail.state}'`,
      });
  }
}

function completedOutcome(detail: ResponseDetail): Outcome {
  const status = detail.responseStatus;
  // Rows written before failures were their own state are `completed` with the upstream's
  // error status; they are reported as the failures they were.
  if (status !== null && status >= 400) {
    return failedOutcome(detail, httpStatusError(status, detail.responseBody ?? ''));
  }
  const body = mapBody(detail.responseBody === null ? undefined : decodeResponseBody(detail.responseBody), detail.id);
  return {
    status: 'completed',
    output: body.output,
    ...(body.outputText !== undefined ? { outputText: body.outputText } : {}),
    completedAt: unixSecondsOrNull(detail.completedAt ?? detail.failedAt),
    usage: body.usage ?? usageFromColumns(detail),
    error: null,
  };
}

function failedOutcome(detail: ResponseDetail, error: ParsedError): Outcome {
  return {
    status: 'failed',
    output: [],
    completedAt: unixSecondsOrNull(detail.failedAt ?? detail.completedAt ?? detail.canceledAt),
    usage: usageFromColumns(detail),
    error,
  };
}

function storedError(detail: ResponseDetail): ParsedError {
  if (detail.error !== null) return parseStoredError(detail.error);
  const status = detail.responseStatus;
  if (status !== null && status >= 400) return httpStatusError(status, detail.responseBody ?? '');
  return { type: 'server_error', code: null, message: 'The request failed without a recorded reason' };
}

/** The client's own `background` flag when the stored body states it, else the column. */
function requestedBackground(detail: ResponseDetail): boolean {
  const body = detail.body === null ? undefined : parseJson(detail.body);
  return isRecord(body) && typeof body.background === 'boolean' ? body.background : detail.background;
}

interface MappedBody {
  output: unknown[];
  outputText?: string;
  usage?: ResponseUsage;
}

/**
 * The output and usage in an upstream success body. A body that is not JSON (or not a shape
 * we know) still maps, to `output: []`, so one odd row cannot break retrieval. An
 * embeddings list has no Responses output item to become, so it maps to `output: []` with
 * its usage.
 */
function mapBody(body: unknown, uuid: string): MappedBody {
  if (!isRecord(body)) return { output: [] };
  if (Array.isArray(body.output) || body.object === 'response') {
    return {
      output: Array.isArray(body.output) ? [...(body.output as unknown[])] : [],
      ...(typeof body.output_text === 'string' ? { outputText: body.output_text } : {}),
      ...optionalUsage(responsesUsage(body.usage)),
    };
  }
  if (Array.isArray(body.choices)) {
    return { output: chatOutput(body.choices as unknown[], uuid), ...optionalUsage(chatUsage(body.usage)) };
  }
  if (body.object === 'list' && Array.isArray(body.data)) {
    return { output: [], ...optionalUsage(chatUsage(body.usage)) };
  }
  return { output: [] };
}

function optionalUsage(usage: ResponseUsage | undefined): { usage?: ResponseUsage } {
  return usage === undefined ? {} : { usage };
}

function responsesUsage(value: unknown): ResponseUsage | undefined {
  if (!isRecord(value)) return undefined;
  const { input_tokens: input, output_tokens: output, total_tokens: total } = value;
  if (typeof input !== 'number' || typeof output !== 'number') return undefined;
  return { ...value, input_tokens: input, output_tokens: output, total_tokens: typeof total === 'number' ? total : input + output };
}

/** Chat-completion (and embeddings) usage renamed to the Responses API's fields. */
function chatUsage(value: unknown): ResponseUsage | undefined {
  if (!isRecord(value) || typeof value.prompt_tokens !== 'number') return undefined;
  const input = value.prompt_tokens;
  // Embeddings report no completion tokens.
  const output = typeof value.completion_tokens === 'number' ? value.completion_tokens : 0;
  const total = typeof value.total_tokens === 'number' ? value.total_tokens : input + output;
  return usage(input, output, total, {
    cached: numberAt(value.prompt_tokens_details, 'cached_tokens'),
    reasoning: numberAt(value.completion_tokens_details, 'reasoning_tokens'),
  });
}

/** Usage from the columns extracted at completion; null when none were recorded. */
function usageFromColumns(detail: ResponseDetail): ResponseUsage | null {
  const { promptTokens, completionTokens, totalTokens } = detail;
  if (promptTokens === null && completionTokens === null && totalTokens === null) return null;
  const input = promptTokens ?? 0;
  const output = completionTokens ?? 0;
  return usage(input, output, totalTokens ?? input + output, {});
}

// The details objects are required by the OpenAI SDK's ResponseUsage type; a source that
// does not report cached or reasoning tokens has none to report, hence 0.
function usage(
  input: number,
  output: number,
  total: number,
  details: { cached?: number; reasoning?: number },
): ResponseUsage {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: details.cached ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: details.reasoning ?? 0 },
    total_tokens: total,
  };
}

function numberAt(value: unknown, key: string): number | undefined {
  if (!isRecord(value)) return undefined;
  const found = value[key];
  return typeof found === 'number' ? found : undefined;
}

/**
 * The first choice of a chat completion as Responses output: one assistant `message` item
 * with its text (and refusal), followed by one `function_call` item per tool call. A reply
 * that is only tool calls has no message item. Item ids derive from the response id, so
 * every GET returns the same ids.
 */
function chatOutput(choices: unknown[], uuid: string): unknown[] {
  const choice = choices[0];
  const message = isRecord(choice) && isRecord(choice.message) ? choice.message : {};
  const hex = uuid.replaceAll('-', '').toLowerCase();
  const content = messageContent(message);
  const calls = functionCallItems(message.tool_calls, hex);
  const items: unknown[] = [];
  if (content.length > 0 || calls.length === 0) {
    items.push({ type: 'message', id: `msg_${hex}`, status: 'completed', role: 'assistant', content });
  }
  return [...items, ...calls];
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

function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function unixSecondsOrNull(date: Date | null): number | null {
  return date === null ? null : unixSeconds(date);
}
