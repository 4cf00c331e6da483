// The answer an idempotent retry gets (DESIGN 13): the first request's, rebuilt from its
// row. A JSON answer is the stored body as it was sent; a streamed one is replayed as a
// short stream carrying the same final answer (its deltas are not stored).
import { parseJson, isRecord } from '../responses/json.ts';
import { toResponseId } from '../responses/response-id.ts';
import { toResponseObject } from '../responses/response-object.ts';
import { decodeResponseBody } from '../responses/stored-body.ts';
import type { RequestDetail } from '../store/requests/rows.ts';
import type { CreateCall } from './create-call.ts';
import { envelope } from './http-errors.ts';
import { RESPONSE_ID_HEADER } from './relay.ts';
import { statusForResponse } from './response-status.ts';

export const REPLAYED_HEADER = 'idempotent-replayed';

export async function replayAnswer(call: CreateCall, detail: RequestDetail): Promise<void> {
  const reply = call.reply.header(RESPONSE_ID_HEADER, toResponseId(detail.id)).header(REPLAYED_HEADER, 'true');
  const { status, body } = answerOf(call, detail);
  if (!call.request.stream || status >= 400) {
    await reply.code(status).type('application/json').send(body);
    return;
  }
  await reply.code(200).header('content-type', 'text/event-stream; charset=utf-8').send(replayStream(call, body));
}

/** The status and JSON body the first request answered. */
function answerOf(call: CreateCall, detail: RequestDetail): { status: number; body: string } {
  // store: false kept no answer (DESIGN 11): an object rebuilt from the row would have an
  // empty output and pass for the answer. Say so instead.
  if (!detail.store) {
    const message = 'The first request with this Idempotency-Key had store: false, so its answer was not kept and cannot be replayed.';
    return { status: 409, body: JSON.stringify(envelope(409, message, 'idempotency_answer_not_stored', 'store')) };
  }
  if (call.endpoint === '/v1/responses' && (detail.background || detail.responseStatus === null || detail.responseStatus < 400)) {
    const object = toResponseObject(detail);
    return { status: statusForResponse(object), body: JSON.stringify(object) };
  }
  if (detail.state === 'completed' && detail.responseBody !== null) {
    const decoded = decodeResponseBody(detail.responseBody);
    return { status: detail.responseStatus ?? 200, body: decoded === undefined ? detail.responseBody : JSON.stringify(decoded) };
  }
  if (detail.responseStatus !== null && detail.responseStatus >= 400 && detail.responseBody !== null) {
    return { status: detail.responseStatus, body: detail.responseBody };
  }
  const object = toResponseObject(detail);
  const status = statusForResponse(object);
  return { status, body: JSON.stringify(envelope(status, object.error?.message ?? 'The request failed.', object.error?.code ?? null)) };
}

/** A stream with the same final answer: for chat, one chunk with it all; for responses, created then completed. */
function replayStream(call: CreateCall, body: string): string {
  const value = parseJson(body);
  if (!isRecord(value)) return `data: ${body}\n\ndata: [DONE]\n\n`;
  if (call.endpoint === '/v1/responses') {
    const inProgress = { ...value, status: 'in_progress', output: [], usage: null, completed_at: null };
    const event = (type: string, n: number, response: object) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, response })}\n\n`;
    return event('response.created', 0, inProgress) + event(`response.${String(value.status ?? 'completed')}`, 1, value);
  }
  const choices = Array.isArray(value.choices) ? value.choices : [];
  const chunk = {
    id: value.id,
    object: 'chat.completion.chunk',
    created: value.created,
    model: value.model,
    choices: choices.filter(isRecord).map((c) => ({ index: c.index ?? 0, delta: c.message ?? {}, logprobs: null, finish_reason: c.finish_reason ?? null })),
    ...(value.usage !== undefined ? { usage: value.usage } : {}),
  };
  return `data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`;
}
