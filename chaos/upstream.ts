// The chaos upstream: a small OpenAI-compatible model server (Fastify) in the harness's own
// process. Its answers come from volley's development upstream (an echo of the last user
// text, so the request's nonce is in every answer, with realistic usage); the harness
// switches faults on and off at run time and reads back every call, by nonce.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { Answer, Json, MintId } from '../src/dev-upstream/answer.ts';
import { chatCompletions } from '../src/dev-upstream/chat.ts';
import { createResponse } from '../src/dev-upstream/responses.ts';
import { findNonce, isRecord, lastUserText } from './text.ts';
import { pickOutcome, poison, type CallOutcome, type UpstreamFaults } from './upstream-faults.ts';

export interface UpstreamCall {
  /** Epoch ms when the call arrived. */
  at: number;
  endpoint: string;
  stream: boolean;
  /** The request id of `x-volley-request-id` (`<id>.<signature>`), when the caller sent one. */
  requestId: string | undefined;
  outcome: CallOutcome;
}

export interface ChaosUpstream {
  /** Base URL including `/v1`. */
  url: string;
  setFaults(faults: UpstreamFaults): void;
  clearFaults(): void;
  /** Calls recorded for a nonce since the last reset. */
  callsFor(nonce: string): readonly UpstreamCall[];
  /** Forgets the recorded calls (each segment starts afresh). */
  resetCalls(): void;
  /** Calls since the last reset that carried no nonce. */
  readonly unmatchedCalls: number;
  close(): Promise<void>;
}

export interface ChaosUpstreamOptions {
  /** Delay before answering (before the first stream chunk). */
  latencyMs: number;
  /** Delay between stream chunks. */
  chunkDelayMs: number;
  /** A hung call is cut after this long if its caller never gives up. */
  maxHangMs?: number;
}

type Handler = (body: Json, model: string, mintId: MintId, nowSeconds: number) => Answer;

/** Starts the chaos upstream on a free loopback port, with no fault switched on. */
export async function startChaosUpstream(opts: ChaosUpstreamOptions): Promise<ChaosUpstream> {
  let faults: UpstreamFaults = {};
  let calls = new Map<string, UpstreamCall[]>();
  let unmatched = 0;
  let counter = 0;
  const mintId: MintId = (prefix) => `${prefix}chaos${(counter++).toString(36).padStart(8, '0')}`;
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, keepAliveTimeout: 65_000, forceCloseConnections: true });

  const handle = async (req: FastifyRequest, reply: FastifyReply, endpoint: string, handler: Handler): Promise<void> => {
    const body = req.body;
    reply.hijack();
    const res = reply.raw;
    if (!isRecord(body) || typeof body['model'] !== 'string') {
      sendJson(res, 400, envelope(400, 'a JSON object with a model is required'));
      return;
    }
    const nonce = findNonce(lastUserText(body));
    const outcome = pickOutcome(faults, nonce, Math.random);
    const marker = req.headers['x-volley-request-id'];
    const call: UpstreamCall = {
      at: Date.now(),
      endpoint,
      stream: body['stream'] === true,
      requestId: typeof marker === 'string' ? marker.split('.')[0] : undefined,
      outcome,
    };
    if (nonce === undefined) unmatched++;
    else {
      const list = calls.get(nonce);
      if (list) list.push(call);
      else calls.set(nonce, [call]);
    }
    if (!(await delay(opts.latencyMs, res))) return;
    switch (outcome) {
      case '429':
        sendJson(res, 429, envelope(429, 'Rate limit reached (chaos upstream).'), { 'retry-after': '1' });
        return;
      case '500':
      case '503':
        sendJson(res, Number(outcome), envelope(Number(outcome), 'The server had an error (chaos upstream).'));
        return;
      case 'hang':
        hang(req.raw, res, opts.maxHangMs ?? 120_000);
        return;
      case 'reset-headers':
        res.socket?.destroy();
        return;
      default:
        break;
    }
    const answer = handler(body, body['model'], mintId, Math.floor(Date.now() / 1000));
    if (answer.kind === 'error') {
      sendJson(res, answer.status, envelope(answer.status, answer.message));
      return;
    }
    if (answer.kind === 'json') {
      const payload = poison(JSON.stringify(answer.body), outcome, nonce);
      if (outcome === 'reset-body') {
        const bytes = Buffer.from(payload);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy());
        return;
      }
      sendJson(res, 200, payload);
      return;
    }
    const chunks = answer.chunks.map((c) => poison(c, outcome, nonce));
    const upTo = outcome === 'reset-body' ? Math.max(1, Math.floor(chunks.length / 2)) : chunks.length;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    for (let i = 0; i < upTo; i++) {
      if (i > 0 && !(await delay(opts.chunkDelayMs, res))) return;
      res.write(chunks[i]);
    }
    if (outcome === 'reset-body') res.socket?.destroy();
    else res.end();
  };

  app.post('/v1/chat/completions', (req, reply) => handle(req, reply, '/v1/chat/completions', chatCompletions));
  app.post('/v1/responses', (req, reply) => handle(req, reply, '/v1/responses', createResponse));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    setFaults(next) {
      faults = { ...next };
    },
    clearFaults() {
      faults = {};
    },
    callsFor: (nonce) => calls.get(nonce) ?? [],
    resetCalls() {
      calls = new Map();
      unmatched = 0;
    },
    get unmatchedCalls() {
      return unmatched;
    },
    close: () => app.close(),
  };
}

function envelope(status: number, message: string): string {
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return JSON.stringify({ error: { message, type, param: null, code: null } });
}

function sendJson(res: ServerResponse, status: number, payload: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers });
  res.end(payload);
}

/** Holds the call open until the caller leaves (its timeout), or cuts it after `maxMs`. */
function hang(req: IncomingMessage, res: ServerResponse, maxMs: number): void {
  const timer = setTimeout(() => res.socket?.destroy(), maxMs);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
  req.resume();
}

/** Waits `ms`; false at once if the caller disconnected meanwhile. */
function delay(ms: number, res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
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
