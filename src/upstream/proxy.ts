import { Agent, type Dispatcher } from 'undici';
import { REQUEST_MARKER_HEADER, signRequestMarker } from './request-marker.ts';

/**
 * The gateway's HTTP client to model servers, for proxying realtime requests. One pooled
 * keep-alive undici Agent per process: connections to each upstream are reused, so a proxied
 * request costs no TCP handshake. (The request processor has its own client in client.ts.)
 *
 * Where a call goes is the caller's (the model catalog's route, DESIGN 10): an OpenAI-style
 * base URL with the version prefix (`http://h:8000/v1`), to which the path after `/v1` is
 * appended.
 */
export interface UpstreamProxyOptions {
  /** Longest wait for response headers, and for each body chunk after them. */
  timeoutMs: number;
  /** Most open connections per upstream origin; unset: no limit. */
  connectionsPerOrigin?: number;
  /** Signs x-volley-request-id (see request-marker.ts). */
  markerKey: Buffer;
}

export interface UpstreamTarget {
  /** OpenAI-style base URL including the version prefix. */
  baseUrl: string;
  apiKey: string | undefined;
}

export interface UpstreamCall {
  target: UpstreamTarget;
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
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connections: opts.connectionsPerOrigin ?? null,
    pipelining: 1,
  });
  // Parsed once per base URL: a handful of upstreams, called on every request.
  const targets = new Map<string, { origin: string; basePath: string }>();
  const parse = (base: string) => {
    let t = targets.get(base);
    if (!t) {
      const url = new URL(base);
      t = { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
      targets.set(base, t);
    }
    return t;
  };

  return {
    send(call) {
      const target = parse(call.target.baseUrl);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        // Compressed bodies could not be captured or rewritten on the way through.
        'accept-encoding': 'identity',
      };
      if (call.target.apiKey) headers.authorization = `Bearer ${call.target.apiKey}`;
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
