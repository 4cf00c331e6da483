/**
 * The volley development upstream: a small OpenAI-compatible model server used by
 * `npm start` when no UPSTREAM_URL is set, by the tests and by the benchmarks.
 *
 * IT IS A DEVELOPMENT TOOL, NOT A REAL MODEL. Replies are deterministic: "Echo: " and the
 * last user message (cut at 280 characters), or a fixed sentence when there is none. Token
 * counts are estimated as ceil(characters / 4), at least 1.
 *
 * Endpoints (any API key or none is accepted; any model name is served):
 *   POST /v1/chat/completions   chat.completion, or chat.completion.chunk SSE with `stream`
 *                               (a usage chunk with `stream_options.include_usage`, then [DONE])
 *   POST /v1/responses          a Responses API object, or its typed SSE events with `stream`
 *   POST /v1/embeddings         deterministic unit vectors (8 dimensions, or `dimensions`);
 *                               `encoding_format: "base64"` gives float32 little-endian bytes
 *   GET  /v1/models, /v1/models/{id}
 * Errors use the OpenAI envelope {"error":{"message","type","param","code"}}: invalid JSON
 * and a missing `model` are 400, an unknown path is 404, a body over 16 MiB is 413.
 *
 * Per-request test controls (a header wins over the model name, which wins over the
 * server's options; values that do not parse are ignored):
 *   x-dev-latency-ms: <ms>       wait before answering (before the first stream chunk)
 *   x-dev-chunk-delay-ms: <ms>   wait between stream chunks (one chunk per word)
 *   x-dev-status: <code>         after the latency, answer <code> (400–599) with an OpenAI
 *                                error envelope; its `type` follows the status (400
 *                                invalid_request_error, 401 authentication_error, 403
 *                                permission_error, 404 not_found_error, 429 rate_limit_error,
 *                                other 4xx invalid_request_error, 5xx server_error)
 * The same through the model name, for callers that forward only the body:
 *   model `dev-status-500`       answers 500 (any 400–599)
 *   model `dev-slow-<ms>`        waits <ms> before answering
 *   model `dev-chunk-<ms>`       waits <ms> between stream chunks
 * They combine and may follow a prefix: `dev-slow-200-dev-status-503`, `gpt-4o-dev-slow-50`.
 *
 * A client that disconnects while the server waits or streams stops the timers and the
 * writes for its request.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isObject, type Answer, type Json, type MintId } from './answer.ts';
import { chatCompletions } from './chat.ts';
import { errorTypeForReply } from '../responses/failure-reason.ts';
import { resolveControls } from './controls.ts';
import { createEmbeddings } from './embeddings.ts';
import { listModels, retrieveModel } from './models.ts';
import { createResponse } from './responses.ts';

export interface DevUpstreamOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Delay before answering (before the first chunk of a stream); default 0. */
  latencyMs?: number;
  /** Delay between stream chunks; default 0. */
  chunkDelayMs?: number;
}

export interface DevUpstream {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:1234/v1`. */
  url: string;
  port: number;
  /** Stops listening and ends every open connection, in-flight streams included. */
  close(): Promise<void>;
}

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Longer than the usual client pool idle timeouts, so clients close idle sockets first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const LABEL_HEADER = 'x-volley-dev-upstream';
const LABEL = 'development tool, not a real model';

type PostHandler = (body: Json, model: string, mintId: MintId, nowSeconds: number) => Answer;

/** Starts the development upstream and resolves once it is listening. */
export async function startDevUpstream(opts: DevUpstreamOptions = {}): Promise<DevUpstream> {
  const host = opts.host ?? '127.0.0.1';
  const defaults = {
    latencyMs: checkDelay('latencyMs', opts.latencyMs),
    chunkDelayMs: checkDelay('chunkDelayMs', opts.chunkDelayMs),
  };
  const mintId = idMinter();

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    handle(req, res, defaults, mintId).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      sendError(res, 500, `Development upstream failed: ${message}`, null, null, mintId);
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl(host, port),
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Ending the sockets fires each response's 'close', which cancels its timers.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  defaults: { latencyMs: number; chunkDelayMs: number },
  mintId: MintId,
): Promise<void> {
  const method = req.method ?? 'GET';
  const rawUrl = req.url ?? '/';
  const query = rawUrl.indexOf('?');
  const path = query === -1 ? rawUrl : rawUrl.slice(0, query);

  let post: PostHandler | undefined;
  let get: (() => Answer) | undefined;
  if (method === 'POST') {
    if (path === '/v1/chat/completions') post = chatCompletions;
    else if (path === '/v1/responses') post = createResponse;
    else if (path === '/v1/embeddings') post = (body, model) => createEmbeddings(body, model);
  } else if (method === 'GET') {
    if (path === '/v1/models') get = listModels;
    else if (path.startsWith('/v1/models/') && path.length > '/v1/models/'.length) {
      const id = safeDecode(path.slice('/v1/models/'.length));
      if (id !== undefined) get = () => retrieveModel(id);
    }
  }
  if (post === undefined && get === undefined) {
    req.resume();
    sendError(res, 404, `Invalid URL (${method} ${path})`, null, null, mintId);
    return;
  }

  let body: Json = {};
  let model: string | undefined;
  if (post !== undefined) {
    const raw = await readBody(req);
    if (raw === 'aborted') return;
    if (raw === 'too-large') {
      res.shouldKeepAlive = false;
      sendError(res, 413, `Request body exceeds ${MAX_BODY_BYTES} bytes`, null, 'request_too_large', mintId);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      sendError(res, 400, 'We could not parse the JSON body of your request.', null, 'invalid_json', mintId);
      return;
    }
    if (!isObject(parsed)) {
      sendError(res, 400, 'The request body must be a JSON object.', null, 'invalid_json', mintId);
      return;
    }
    body = parsed;
    const m = body['model'];
    if (typeof m !== 'string' || m === '') {
      sendError(res, 400, 'You must provide a model parameter.', 'model', 'missing_required_parameter', mintId);
      return;
    }
    model = m;
  }

  const controls = resolveControls(
    {
      latencyMs: req.headers['x-dev-latency-ms'],
      chunkDelayMs: req.headers['x-dev-chunk-delay-ms'],
      status: req.headers['x-dev-status'],
    },
    model,
    defaults,
  );
  if (controls.latencyMs > 0 && !(await delay(controls.latencyMs, res))) return;
  if (controls.status !== undefined) {
    const status = controls.status;
    const message = `Simulated ${status} from the development upstream (requested by x-dev-status or the model name).`;
    sendError(res, status, message, null, 'dev_simulated_error', mintId);
    return;
  }

  const answer =
    post !== undefined && model !== undefined ? post(body, model, mintId, Math.floor(Date.now() / 1000)) : get!();
  switch (answer.kind) {
    case 'json':
      sendJson(res, answer.status, answer.body, mintId);
      return;
    case 'error':
      sendError(res, answer.status, answer.message, answer.param, answer.code, mintId);
      return;
    case 'sse':
      await sendSse(res, answer.chunks, controls.chunkDelayMs, mintId);
      return;
  }
}

/** The whole request body, 'too-large' past MAX_BODY_BYTES, 'aborted' if the client left. */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    // 'close' before 'end' means the client went away mid-upload; after 'end' it is a no-op.
    req.once('close', () => resolve('aborted'));
    req.once('error', () => resolve('aborted'));
  });
}

/** Waits `ms`; resolves false at once if the client disconnects first (and the timer is cleared). */
function delay(ms: number, res: ServerResponse): Promise<boolean> {
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

function sendJson(res: ServerResponse, status: number, body: unknown, mintId: MintId): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-request-id': mintId('req_'),
    [LABEL_HEADER]: LABEL,
  });
  res.end(payload);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  param: string | null,
  code: string | null,
  mintId: MintId,
): void {
  sendJson(res, status, { error: { message, type: errorTypeForReply(status), param, code } }, mintId);
}

async function sendSse(res: ServerResponse, chunks: string[], chunkDelayMs: number, mintId: MintId): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': mintId('req_'),
    [LABEL_HEADER]: LABEL,
  });
  if (chunkDelayMs === 0) {
    res.end(chunks.join(''));
    return;
  }
  const last = chunks.length - 1;
  for (let i = 0; i < last; i++) {
    res.write(chunks[i]);
    if (!(await delay(chunkDelayMs, res))) return;
  }
  res.end(chunks[last]);
}

/** Ids unique within the process and across restarts: a random base and a counter. */
function idMinter(): MintId {
  const base = randomBytes(6).toString('hex');
  let counter = 0;
  return (prefix) => `${prefix}${base}${(counter++).toString(36).padStart(6, '0')}`;
}

function checkDelay(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function baseUrl(host: string, port: number): string {
  // A wildcard address is not something a client can connect to; use loopback instead.
  const connectable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${connectable.includes(':') ? `[${connectable}]` : connectable}:${port}/v1`;
}
