// A request-log row as the admin API and the export show it (DESIGN 12). Pure: no I/O.
import type { RequestRow } from '../db/schema/index.ts';
import { parseJson } from '../responses/json.ts';
import { parseStoredError, httpStatusError } from '../responses/failure-reason.ts';
import { toResponseId } from '../responses/response-id.ts';
import { decodeResponseBody } from '../responses/stored-body.ts';
import type { LoggedRequest, RequestStatus } from '../store/request-log.ts';

export interface RequestJson {
  id: string;
  object: 'request';
  created_at: string;
  endpoint: string;
  model: string;
  status: RequestStatus;
  http_status: number | null;
  service_tier: string;
  served_service_tier: string | null;
  background: boolean;
  store: boolean;
  user: string | null;
  user_id: string;
  api_key_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  total_tokens: number | null;
  duration_ms: number | null;
  ttft_ms: number | null;
  queue_delay_ms: number | null;
  finish_reason: string | null;
  upstream_model: string | null;
  metadata: Record<string, string> | null;
  end_user: string | null;
  previous_response_id: string | null;
  error: { type: string; message: string; code: string | number | null } | null;
}

export function statusOf(row: Pick<RequestRow, 'state' | 'responseStatus'>): RequestStatus {
  switch (row.state) {
    case 'completed':
      return row.responseStatus !== null && row.responseStatus >= 400 ? 'failed' : 'completed';
    case 'failed':
      return 'failed';
    case 'canceled':
      return 'cancelled';
    case 'processing':
      return 'in_progress';
    default:
      return 'queued';
  }
}

const ms = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);

export function requestJson(row: LoggedRequest): RequestJson {
  const failed = row.error !== null ? parseStoredError(row.error) : row.responseStatus !== null && row.responseStatus >= 400 ? httpStatusError(row.responseStatus, '') : null;
  return {
    id: toResponseId(row.id),
    object: 'request',
    created_at: row.createdAt.toISOString(),
    endpoint: row.endpoint,
    model: row.model,
    status: statusOf(row),
    http_status: row.responseStatus,
    service_tier: row.serviceTier,
    served_service_tier: row.servedServiceTier,
    background: row.background,
    store: row.store,
    user: row.userName,
    user_id: row.createdBy,
    api_key_id: row.apiKeyId,
    input_tokens: row.promptTokens,
    output_tokens: row.completionTokens,
    cached_tokens: row.cachedTokens,
    reasoning_tokens: row.reasoningTokens,
    total_tokens: row.totalTokens,
    duration_ms: ms(row.durationMs),
    ttft_ms: ms(row.ttftMs),
    queue_delay_ms: ms(row.queueDelayMs),
    finish_reason: row.finishReason,
    upstream_model: row.upstreamModel,
    metadata: row.metadata,
    end_user: row.endUser,
    previous_response_id: row.previousRequestId === null ? null : toResponseId(row.previousRequestId),
    error: failed === null ? null : { type: failed.type, message: failed.message.slice(0, 2_000), code: failed.code },
  };
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** One request with its bodies (JSON when they are JSON, else the text; null with store: false) and timings. */
export function requestDetailJson(row: RequestRow & { userName: string | null }) {
  const responseBody = row.responseBody === null || row.responseBody === '' ? null : (decodeResponseBody(row.responseBody) ?? row.responseBody);
  return {
    ...requestJson(row),
    request_body: row.body === '' ? null : (parseJson(row.body) ?? row.body),
    response_body: responseBody,
    timings: {
      received_at: iso(row.receivedAt),
      upstream_started_at: iso(row.upstreamStartedAt),
      first_byte_at: iso(row.firstByteAt),
      finished_at: iso(row.finishedAt),
      completed_at: iso(row.completedAt ?? row.failedAt ?? row.canceledAt),
    },
  };
}

/** The export's CSV columns, in order: the scalar fields of RequestJson (metadata and error as JSON). */
export const CSV_COLUMNS = [
  'id', 'created_at', 'endpoint', 'model', 'status', 'http_status', 'service_tier', 'served_service_tier', 'background',
  'store', 'user', 'user_id', 'api_key_id', 'input_tokens', 'output_tokens', 'cached_tokens', 'reasoning_tokens',
  'total_tokens', 'duration_ms', 'ttft_ms', 'queue_delay_ms', 'finish_reason', 'upstream_model', 'end_user',
  'previous_response_id', 'metadata', 'error',
] as const satisfies readonly (keyof RequestJson)[];

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // A text starting like a formula is not run as one by a spreadsheet opening the file.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvLine(json: RequestJson): string {
  return `${CSV_COLUMNS.map((c) => csvField(json[c])).join(',')}\r\n`;
}
