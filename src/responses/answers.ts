// The Responses object a client gets for a realtime answer (DESIGN 10, 11): the upstream's own
// object completed to a full ResponseResource with volley's id, or, for a chat-only model, the
// chat answer translated. The same object is what the record keeps, so GET returns what the
// POST returned. Pure: no I/O.
import { fromChatCompletion, type StreamState } from './chat/index.ts';
import { isRecord, parseJson } from './json.ts';
import { requestEcho } from './request-echo.ts';
import { completeResponseObject, type ResponseResource } from './resource.ts';

/** Item ids of translated answers derive from the response's uuid, so rebuilding gives the same ids. */
export function itemIdSeed(responseId: string): string {
  return responseId.replace(/^resp_/, '').replaceAll('-', '');
}

/**
 * An upstream Responses answer made complete, as text; undefined when the body is not a
 * Responses object (an error envelope, say), which then passes as it is.
 */
export function completedAnswer(
  text: string,
  request: unknown,
  responseId: string,
  nowSeconds: number,
  createdAt?: number,
): string | undefined {
  const body = parseJson(text);
  if (!isRecord(body) || (body.object !== 'response' && !Array.isArray(body.output))) return undefined;
  // A background request's object was created when it was queued (the queued object said so).
  const object = completeResponseObject(body, requestEcho(request), { id: responseId, ...(createdAt !== undefined ? { created_at: createdAt } : {}) }, { created_at: nowSeconds });
  return JSON.stringify(object);
}

/** A `response` object of an upstream stream event, completed (with volley's id). */
export function completeSnapshot(
  response: Record<string, unknown>,
  request: unknown,
  responseId: string,
  nowSeconds: number,
): ResponseResource {
  return completeResponseObject(response, requestEcho(request), { id: responseId }, { created_at: nowSeconds });
}

/** A chat-only model's answer (a chat.completion) as the Responses object the client gets. */
export function translatedAnswer(
  text: string,
  request: unknown,
  responseId: string,
  nowSeconds: number,
  createdAt = nowSeconds,
): string | undefined {
  const completion = parseJson(text);
  if (!isRecord(completion) || !Array.isArray(completion.choices)) return undefined;
  const t = fromChatCompletion(completion, { responseId, itemIdSeed: itemIdSeed(responseId) });
  return JSON.stringify(
    completeResponseObject(
      undefined,
      requestEcho(request),
      {
        id: responseId,
        status: t.status,
        output: t.output as unknown[],
        usage: t.usage as ResponseResource['usage'],
        incomplete_details: t.incomplete_details,
        created_at: createdAt,
        completed_at: t.status === 'completed' ? nowSeconds : null,
      },
      { created_at: createdAt },
    ),
  );
}

/** The snapshot builder a translated stream's lifecycle events carry. */
export function streamSnapshot(request: unknown, responseId: string, nowSeconds: number): (state: StreamState) => Record<string, unknown> {
  const echo = requestEcho(request);
  return (state) =>
    completeResponseObject(
      undefined,
      echo,
      {
        id: responseId,
        status: state.status,
        output: state.output as unknown[],
        usage: state.usage as ResponseResource['usage'],
        incomplete_details: state.incomplete_details,
        error: state.error as ResponseResource['error'],
        created_at: nowSeconds,
        completed_at: state.status === 'completed' ? nowSeconds : null,
      },
      { created_at: nowSeconds },
    );
}
