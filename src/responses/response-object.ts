// A recorded request as a complete Open Responses object (DESIGN 7 and 11): what
// GET /v1/responses/{id}, cancel, the queued background answer and the blocking flex reply
// return. Pure: no I/O, and no input makes it throw.
import { mapChatCompletion, chatUsage } from './chat-output.ts';
import { httpStatusError, parseStoredError, type ParsedError } from './failure-reason.ts';
import { isRecord, parseJson } from './json.ts';
import { requestEcho } from './request-echo.ts';
import {
  completeResponseObject,
  usageOf,
  type ResourceFallbacks,
  type ResourceOverrides,
  type ResponseResource,
  type ResponseStatus,
  type ResponseUsage,
} from './resource.ts';
import { toResponseError } from './response-error.ts';
import { toResponseId } from './response-id.ts';
import { decodeResponseBody } from './stored-body.ts';

export type { ResponseResource, ResponseStatus, ResponseUsage } from './resource.ts';

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

/**
 * What callers read from a response object. `toResponseObject` returns the complete
 * `ResponseResource`, whose `error.code` is always a string (the upstream HTTP status, when
 * there was one, is in `error.http_status`); this view types `code` loosely so objects built
 * by hand elsewhere still fit it.
 */
export interface ResponseObject {
  id: string;
  object: 'response';
  status: ResponseStatus;
  output: unknown[];
  usage: ResponseUsage | null;
  error: { code: string | number | null; message: string; [field: string]: unknown } | null;
  [field: string]: unknown;
}

const STATUS_BY_STATE: ReadonlyMap<string, ResponseStatus> = new Map([
  ['pending', 'queued'],
  ['claimed', 'in_progress'],
  ['processing', 'in_progress'],
  ['completed', 'completed'],
  ['failed', 'failed'],
  ['canceled', 'cancelled'],
]);

// The statuses a final upstream Responses body may report for a row that completed.
const FINAL_BODY_STATUSES: ReadonlySet<unknown> = new Set(['completed', 'incomplete', 'failed']);

/** A request just accepted (pending): nothing has happened to it yet. */
export function newRequestDetail(
  r: Pick<ResponseDetail, 'id' | 'model' | 'serviceTier' | 'background' | 'body' | 'createdAt'>,
): ResponseDetail {
  return {
    state: 'pending',
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

/** The response status for a request state; a state this code does not know is `failed`. */
export function responseStatusForState(state: string): ResponseStatus {
  return STATUS_BY_STATE.get(state) ?? 'failed';
}

/**
 * The complete response object for a row, in every state. The request settings are echoed
 * from the stored request body; `background` and `service_tier` are what volley ran the
 * request as (the row). A completed row whose stored body is a Responses object is that
 * object completed by `completeResponseObject` with the same request echo, so GET returns
 * what the POST answer returned (same output, usage, ids, `created_at`); only a body whose
 * own status is not final is reported `completed`, since the row is.
 */
export function toResponseObject(detail: ResponseDetail): ResponseResource {
  const request = detail.body === null ? undefined : parseJson(detail.body);
  const echo = requestEcho(request);
  const outcome = outcomeOf(detail);
  const overrides: ResourceOverrides = {
    id: toResponseId(detail.id),
    background: isRecord(request) && typeof request.background === 'boolean' ? request.background : detail.background,
    service_tier: detail.serviceTier ?? echo.service_tier,
    ...outcome.overrides,
  };
  const fallbacks: ResourceFallbacks = {
    created_at: unixSeconds(detail.createdAt),
    model: detail.model,
    ...outcome.fallbacks,
  };
  return completeResponseObject(outcome.base, echo, overrides, fallbacks);
}

interface Outcome {
  /** The upstream's own Responses object, when the row holds one. */
  base?: Record<string, unknown>;
  overrides: Partial<Pick<ResponseResource, 'status' | 'output' | 'completed_at' | 'usage' | 'error' | 'incomplete_details'>>;
  fallbacks?: ResourceFallbacks;
}

function outcomeOf(detail: ResponseDetail): Outcome {
  const status = STATUS_BY_STATE.get(detail.state);
  switch (status) {
    case 'queued':
    case 'in_progress':
      return { overrides: { status, output: [], completed_at: null, usage: null, error: null, incomplete_details: null } };
    case 'cancelled':
      return {
        overrides: {
          status,
          output: [],
          completed_at: unixSecondsOrNull(detail.canceledAt ?? detail.failedAt ?? detail.completedAt),
          usage: usageFromColumns(detail),
          error: null,
          incomplete_details: null,
        },
      };
    case 'completed':
      return completedOutcome(detail);
    case 'failed':
      return failedOutcome(detail, storedError(detail));
    case 'incomplete':
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
  const completedAt = unixSecondsOrNull(detail.completedAt ?? detail.failedAt);
  const body = detail.responseBody === null ? undefined : decodeResponseBody(detail.responseBody);
  const columns = usageFromColumns(detail);
  if (isRecord(body) && (Array.isArray(body.output) || body.object === 'response')) {
    const status = FINAL_BODY_STATUSES.has(body.status) ? (body.status as ResponseStatus) : 'completed';
    return {
      base: body,
      overrides: { status },
      // An incomplete answer was never completed: its completed_at stays null, as POST said.
      fallbacks: { completed_at: status === 'completed' ? completedAt : null, usage: columns },
    };
  }
  const done = { completed_at: completedAt, error: null, incomplete_details: null } as const;
  if (isRecord(body) && Array.isArray(body.choices)) {
    const chat = mapChatCompletion(body, detail.id);
    return {
      overrides: {
        ...done,
        status: chat.status,
        output: chat.output,
        usage: chat.usage ?? columns,
        incomplete_details: chat.incompleteDetails,
      },
    };
  }
  // An embeddings list has no Responses output item to become: no output, with its usage. A
  // body that is not JSON (or not a shape we know) still maps, so one odd row cannot break
  // retrieval.
  const listUsage = isRecord(body) && body.object === 'list' && Array.isArray(body.data) ? chatUsage(body.usage) : undefined;
  return { overrides: { ...done, status: 'completed', output: [], usage: listUsage ?? columns } };
}

function failedOutcome(detail: ResponseDetail, error: ParsedError): Outcome {
  return {
    overrides: {
      status: 'failed',
      output: [],
      completed_at: unixSecondsOrNull(detail.failedAt ?? detail.completedAt ?? detail.canceledAt),
      usage: usageFromColumns(detail),
      error: toResponseError(error),
      incomplete_details: null,
    },
  };
}

function storedError(detail: ResponseDetail): ParsedError {
  if (detail.error !== null) return parseStoredError(detail.error);
  const status = detail.responseStatus;
  if (status !== null && status >= 400) return httpStatusError(status, detail.responseBody ?? '');
  return { type: 'server_error', code: null, message: 'The request failed without a recorded reason' };
}

/** Usage from the columns extracted at completion; null when none were recorded. */
function usageFromColumns(detail: ResponseDetail): ResponseUsage | null {
  const { promptTokens, completionTokens, totalTokens } = detail;
  if (promptTokens === null && completionTokens === null && totalTokens === null) return null;
  const input = promptTokens ?? 0;
  const output = completionTokens ?? 0;
  return usageOf(input, output, totalTokens ?? input + output);
}

function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function unixSecondsOrNull(date: Date | null): number | null {
  return date === null ? null : unixSeconds(date);
}
