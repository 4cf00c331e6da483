import { randomUUID } from 'node:crypto';
import type { Job } from 'pg-boss';
import { newId } from '../../src/ids.ts';
import type { CompleteResponsePayload, CreateResponsePayload } from '../../src/jobs/definitions.ts';

export interface RequestFixture {
  create: CreateResponsePayload;
  complete: CompleteResponsePayload;
}

/**
 * A realtime request's two job payloads with fresh ids, minted as the gateway mints them
 * (time-ordered UUIDv7); `status` picks the upstream outcome.
 */
export function realtimeRequest(opts: { status?: number; owner?: string; model?: string } = {}): RequestFixture {
  const requestId = newId();
  const owner = opts.owner ?? randomUUID();
  const status = opts.status ?? 200;
  const model = opts.model ?? 'dev-model';
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: `hello ${requestId}` }] });
  const responseBody =
    status < 400
      ? JSON.stringify({
          id: `chatcmpl-${requestId}`,
          object: 'chat.completion',
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: `answer ${requestId}` }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 },
        })
      : JSON.stringify({ error: { message: `upstream said ${status}`, type: 'server_error', param: null, code: null } });
  const common = {
    requestId,
    batchId: newId(),
    model,
    endpoint: '/v1/chat/completions',
    serviceTier: 'default' as const,
    createdBy: owner,
    apiKeyId: randomUUID(),
  };
  const started = new Date();
  return {
    create: { ...common, body },
    complete: {
      ...common,
      requestBody: body,
      statusCode: status,
      responseBody,
      startedAt: started.toISOString(),
      finishedAt: new Date(started.getTime() + 5).toISOString(),
    },
  };
}

/** A pg-boss job as a worker receives it (fetched, not yet run), for handler-level tests. */
export function fetchedJob(name: string, data: unknown): Job<unknown> {
  return {
    id: randomUUID(),
    name,
    data,
    expireInSeconds: 60,
    heartbeatSeconds: null,
    retryCount: 0,
    signal: new AbortController().signal,
  };
}
