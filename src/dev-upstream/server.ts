/**
 * The volley development upstream: a small OpenAI-compatible model server used by
 * `npm start` when no UPSTREAM_URL is set, by the tests and by the benchmarks. Served by
 * Fastify (app.ts); every answer carries the header `x-volley-dev-upstream`.
 *
 * IT IS A DEVELOPMENT TOOL, NOT A REAL MODEL. Replies are deterministic: "Echo: " and the
 * last user message (cut at 280 characters), or a fixed sentence when there is none. Token
 * counts are estimated as ceil(characters / 4), at least 1.
 *
 * Endpoints (any API key or none is accepted; any model name is served):
 *   POST /v1/chat/completions   chat.completion, or chat.completion.chunk SSE with `stream`
 *                               (a usage chunk with `stream_options.include_usage`, then [DONE])
 *   POST /v1/responses          a Responses object, or its typed SSE events with `stream`
 *                               (`sequence_number` 0, 1, 2, … without gaps)
 *   POST /v1/embeddings         deterministic unit vectors (8 dimensions, or `dimensions`);
 *                               `encoding_format: "base64"` gives float32 little-endian bytes
 *   GET  /v1/models, /v1/models/{id}
 * Every body is read as JSON whatever its content type. Errors use the OpenAI envelope
 * {"error":{"message","type","param","code"}}: invalid JSON (or a body that is not an
 * object) is 400 `invalid_json`, a missing `model` 400 `missing_required_parameter`, a bad
 * field of a chat or responses request 400 naming it in `param`, an unknown path or method
 * 404, a body over 16 MiB (MAX_BODY_BYTES) 413 `request_too_large`.
 *
 * Responses objects carry every required field of the Open Responses `ResponseResource`,
 * each request setting echoed or its documented default (function tools in the Responses
 * shape, `strict` true unless the request says otherwise).
 *
 * Tool calls, deterministic so tool round trips can be tested without a model (both APIs,
 * streamed or not):
 *   - When function tools are offered and the last user text contains `call <name>` naming
 *     one (word boundary; the name case-sensitive), the answer is a call of that tool, its
 *     arguments the first JSON object literal after the name (compacted), else `{}`. Several
 *     named tools give parallel calls in order, or only the first with
 *     `parallel_tool_calls: false` (and at most `max_tool_calls` on /v1/responses).
 *   - `tool_choice` naming a function forces a call of it; `required` calls what the text
 *     names or else the first offered tool with `{}`; `none` never calls (`allowed_tools`
 *     narrows the tools and applies its mode). A forced choice that names no offered
 *     function is a 400, like the API's.
 *   - Responses: `function_call` items (fc_…, call_…, status completed), streamed as
 *     output_item.added, function_call_arguments.delta (a few pieces), .done, output_item.done.
 *     Chat: `message.tool_calls` with `content: null` and finish_reason `tool_calls`,
 *     streamed as `delta.tool_calls` fragments keyed by `index`.
 *   - When the conversation ends with a tool result (`function_call_output`, or a chat
 *     `role: "tool"` message) and the choice is `auto`, the answer is the text
 *     "Tool <name> returned: <output>" (the name of the matching earlier call, or `unknown`;
 *     the output cut at 280 characters).
 *   - Output tokens of a call are estimated from its name and arguments.
 *
 * Length limits: when `max_output_tokens` (responses) or `max_completion_tokens` /
 * `max_tokens` (chat) is below the reply's estimate, the text is cut to that many tokens
 * (4 characters each) and usage reports them; responses answer `status: "incomplete"`,
 * `incomplete_details.reason: "max_output_tokens"` (the stream ends with
 * response.incomplete), chat answers finish_reason `length`.
 *
 * Per-request test controls (a header wins over the model name, which wins over the
 * server's options; values that do not parse are ignored):
 *   x-dev-latency-ms: <ms>       wait before answering (before the first stream chunk)
 *   x-dev-chunk-delay-ms: <ms>   wait between stream chunks (one chunk per word or fragment)
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
 * The request hook (`onRequest` option) sees every request, with its parsed JSON body,
 * before it is answered, so tests can check exactly what was sent upstream.
 *
 * A client that disconnects while the server waits or streams stops the timers and the
 * writes for its request. Connections are kept alive (65 s idle); close() ends them all.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { MintId } from './answer.ts';
import { buildDevUpstreamApp, type DevUpstreamCall } from './app.ts';

export { MAX_BODY_BYTES } from './http-errors.ts';
export type { DevUpstreamCall } from './app.ts';

export interface DevUpstreamOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Delay before answering (before the first chunk of a stream); default 0. */
  latencyMs?: number;
  /** Delay between stream chunks; default 0. */
  chunkDelayMs?: number;
  /**
   * Called for every request, with its parsed JSON body (undefined when it has none or it
   * did not parse), before it is answered. An exception it throws is answered as a 500.
   */
  onRequest?: (call: DevUpstreamCall) => void;
}

export interface DevUpstream {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:1234/v1`. */
  url: string;
  port: number;
  /** Stops listening and ends every open connection, in-flight streams included. */
  close(): Promise<void>;
}

/** Starts the development upstream and resolves once it is listening. */
export async function startDevUpstream(opts: DevUpstreamOptions = {}): Promise<DevUpstream> {
  const host = opts.host ?? '127.0.0.1';
  const app = buildDevUpstreamApp({
    defaults: {
      latencyMs: checkDelay('latencyMs', opts.latencyMs),
      chunkDelayMs: checkDelay('chunkDelayMs', opts.chunkDelayMs),
    },
    mintId: idMinter(),
    onRequest: opts.onRequest,
  });
  try {
    await app.listen({ host, port: opts.port ?? 0 });
  } catch (err) {
    await app.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl(host, port),
    port,
    close() {
      // Ending the sockets fires each response's 'close', which cancels its timers.
      closing ??= app.close();
      return closing;
    },
  };
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

function baseUrl(host: string, port: number): string {
  // A wildcard address is not something a client can connect to; use loopback instead.
  const connectable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${connectable.includes(':') ? `[${connectable}]` : connectable}:${port}/v1`;
}
