// One create request (POST /v1/responses, /v1/chat/completions, /v1/embeddings) as the
// gateway's paths see it once it is authenticated, parsed and routed.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyOwner } from '../store/api-keys.ts';
import type { JsonBody } from './body.ts';
import type { CreateEndpoint, CreateRequest } from './create-request.ts';

export interface CreateCall {
  endpoint: CreateEndpoint;
  req: FastifyRequest;
  reply: FastifyReply;
  owner: ApiKeyOwner;
  request: CreateRequest;
  body: JsonBody;
  /** The request (and response) id: minted for the call, or an Idempotency-Key's earlier one. */
  requestId: string;
  /** The Idempotency-Key this call serves: its lease is renewed while the request is held. */
  idempotency?: { apiKeyId: string; key: string };
  /** When Fastify received the request, epoch ms (sub-millisecond). */
  receivedAt: number;
  /** The x-volley-metadata header's map (DESIGN 12), checked against the limits. */
  metadata?: Record<string, string>;
}

/** An AbortSignal that fires when the client goes away before its answer was sent. */
export function clientGone(call: CreateCall): AbortSignal {
  const controller = new AbortController();
  const res = call.reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  return controller.signal;
}
