import { Agent, type Dispatcher } from 'undici';
import { REQUEST_MARKER_HEADER, signRequestMarker } from './request-marker.ts';

/**
 * The gateway's HTTP client to model servers, for proxying realtime requests. One pooled
 * keep-alive undici Agent per process: connections to each upstream are reused, so a proxied
 * request costs no TCP handshake. (The request processor has its own client in client.ts.)
 *
 * Routing (DESIGN 5): a model in the route table goes to its URL, every other model to
 * UPSTREAM_URL. Both are OpenAI-style base URLs with the version prefix (`http://h:8000/v1`);
 * the gateway appends the part of its own path after `/v1`.
 */
export interface UpstreamProxyOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  /** model → base URL */
  routes?: Record<string, string>;
  /** Longest wait for response headers, and for each body chunk after them. */
  timeoutMs: number;
  /** Most open connections per upstream origin; unset: no limit. */
  connectionsPerOrigin?: number;
  /** Signs x-volley-request-id (see request-marker.ts). */
  markerKey: Buffer;
}

interface Target {
  origin: string;
  /** Path prefix of the base URL without a trailing slash, e.g. `/v1`. */
  basePath: string;
}

export interface UpstreamCall {
  model: string;
  /** The path after `/v1`, e.g. `/chat/completions`. */
  path: string;
  body: Buffer | string;
  /** Aborts the call (the client went away). */
  signal?: AbortSignal;
  /** Marks the call as tracked by volley, so a volley gateway upstream does not track it again. */
  volleyRequestId?: string;
}

export interface UpstreamProxy {
  send(call: UpstreamCall): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

export function createUpstreamProxy(opts: UpstreamProxyOptions): UpstreamProxy {
  const fallback = toTarget(opts.baseUrl);
  const routes = new Map(Object.entries(opts.routes ?? {}).map(([model, url]) => [model, toTarget(url)]));
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connections: opts.connectionsPerOrigin ?? null,
    pipelining: 1,
  });
  const authorization = opts.apiKey ? `Bearer ${opts.apiKey}` : undefined;

  return {
    send(call) {
      const target = routes.get(call.model) ?? fallback;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        // Compressed bodies could not be captured or rewritten on the way through.
        'accept-encoding': 'identity',
      };
      if (authorization) headers.authorization = authorization;
      if (call.volleyRequestId) headers[REQUEST_MARKER_HEADER] = signRequestMarker(opts.markerKey, call.volleyRequestId, call.body);
      return agent.request({
        origin: target.origin,
        path: target.basePath + call.path,
        method: 'POST',
        headers,
        body: call.body,
        signal: call.signal ?? null,
      });
    },
    close: () => agent.close(),
  };
}

function toTarget(base: string): Target {
  const url = new URL(base);
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}
