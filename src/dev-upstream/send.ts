/**
 * Writing the development upstream's answers: JSON through Fastify's reply, SSE streams on
 * the raw response, and the waits of the latency and chunk-delay controls, which end early
 * (clearing their timer) when the client disconnects.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { errorTypeForReply } from '../responses/failure-reason.ts';
import type { Answer, MintId } from './answer.ts';

/** Every answer carries this header, so nobody mistakes the server for a real model. */
export const LABEL_HEADER = 'x-volley-dev-upstream';
export const LABEL = 'development tool, not a real model';

/** Answers `body` as JSON with `status`. */
export function sendJson(reply: FastifyReply, status: number, body: unknown, mintId: MintId): void {
  reply
    .code(status)
    .header('content-type', 'application/json')
    .header('x-request-id', mintId('req_'))
    .header(LABEL_HEADER, LABEL)
    .send(JSON.stringify(body));
}

/** Answers the OpenAI error envelope; its `type` follows the status. */
export function sendError(
  reply: FastifyReply,
  status: number,
  message: string,
  param: string | null,
  code: string | null,
  mintId: MintId,
): void {
  sendJson(reply, status, { error: { message, type: errorTypeForReply(status), param, code } }, mintId);
}

/**
 * Sends an endpoint's answer. An SSE answer takes over the raw response (Fastify no longer
 * touches it) and resolves when the stream ends or the client leaves.
 */
export function sendAnswer(reply: FastifyReply, answer: Answer, chunkDelayMs: number, mintId: MintId): void | Promise<void> {
  switch (answer.kind) {
    case 'json':
      sendJson(reply, answer.status, answer.body, mintId);
      return;
    case 'error':
      sendError(reply, answer.status, answer.message, answer.param, answer.code, mintId);
      return;
    case 'sse':
      reply.hijack();
      return writeSse(reply.raw, answer.chunks, chunkDelayMs, mintId('req_'));
  }
}

function writeSse(res: ServerResponse, chunks: string[], chunkDelayMs: number, requestId: string): void | Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': requestId,
    [LABEL_HEADER]: LABEL,
  });
  if (chunkDelayMs === 0) {
    res.end(chunks.join(''));
    return;
  }
  return writeSpaced(res, chunks, chunkDelayMs).catch(() => {
    // Headers are out, so no error answer is possible: cut the stream short instead.
    res.destroy();
  });
}

async function writeSpaced(res: ServerResponse, chunks: string[], chunkDelayMs: number): Promise<void> {
  const last = chunks.length - 1;
  for (let i = 0; i < last; i++) {
    res.write(chunks[i]);
    if (!(await delay(chunkDelayMs, res))) return;
  }
  res.end(chunks[last]);
}

/** Waits `ms`; resolves false at once if the client disconnects first (and the timer is cleared). */
export function delay(ms: number, res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once('close', onClose);
  });
}
