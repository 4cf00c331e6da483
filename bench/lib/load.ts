import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

/** One tracked call's record: what was sent and received, for the loss check. */
export interface Sample {
  /** ms from the scheduled (open loop) or actual (sequential) send time to the last body byte. */
  latencyMs: number;
  status: number;
  /** `resp_<uuid>` from x-volley-response-id (gateway only). */
  responseId: string | undefined;
  sent: string;
  received: string;
  error?: string;
}

export interface Target {
  name: string;
  pool: Pool;
  path: string;
  headers: Record<string, string>;
}

/** A gateway's `path` with an API key, over `connections` keep-alive connections. */
export function gatewayTarget(url: string, apiKey: string, path: string, connections: number): Target {
  return {
    name: url,
    pool: keepAlivePool(url, connections),
    path,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
  };
}

/** The upstream's chat completions, called directly (`upstreamUrl` ends in its /v1). */
export function upstreamTarget(upstreamUrl: string, connections: number): Target {
  const u = new URL(upstreamUrl);
  return {
    name: 'upstream',
    pool: keepAlivePool(u.origin, connections),
    path: `${u.pathname.replace(/\/$/, '')}/chat/completions`,
    headers: { 'content-type': 'application/json' },
  };
}

/** A keep-alive undici pool to `origin`. */
export function keepAlivePool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
}

export function chatBody(): string {
  return JSON.stringify({ model: 'dev-model', messages: [{ role: 'user', content: `bench ${randomUUID()}` }] });
}

/** One POST; `since` is the time the latency is measured from. */
export async function call(target: Target, body: string, since: number): Promise<Sample> {
  try {
    const res = await target.pool.request({ method: 'POST', path: target.path, headers: target.headers, body });
    const received = await res.body.text();
    const id = res.headers['x-volley-response-id'];
    return {
      latencyMs: performance.now() - since,
      status: res.statusCode,
      responseId: typeof id === 'string' ? id : undefined,
      sent: body,
      received,
    };
  } catch (err) {
    return {
      latencyMs: performance.now() - since,
      status: 0,
      responseId: undefined,
      sent: body,
      received: '',
      error: err instanceof Error ? err.message : String(err),
    };
  }
}

/** A streamed call: `firstChunkMs` from the send to the first body bytes (after the headers). */
export async function callStream(target: Target, body: string): Promise<Sample & { firstChunkMs: number }> {
  const since = performance.now();
  try {
    const res = await target.pool.request({ method: 'POST', path: target.path, headers: target.headers, body });
    let firstChunkMs = Number.NaN;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (chunks.length === 0) firstChunkMs = performance.now() - since;
      chunks.push(chunk);
    }
    const id = res.headers['x-volley-response-id'];
    return {
      latencyMs: performance.now() - since,
      firstChunkMs,
      status: res.statusCode,
      responseId: typeof id === 'string' ? id : undefined,
      sent: body,
      received: Buffer.concat(chunks).toString('utf8'),
    };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { latencyMs: performance.now() - since, firstChunkMs: Number.NaN, status: 0, responseId: undefined, sent: body, received: '', error };
  }
}

/**
 * Open loop: request i is due at start + i/rate, whatever happened to earlier ones, and its
 * latency counts from that due time (so a stall shows up as latency, not as a lower rate).
 * Requests are issued from a 1 ms timer, the same way for every target.
 */
export async function openLoop(target: Target, rate: number, durationMs: number): Promise<{ samples: Sample[]; wallMs: number }> {
  const n = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const bodies = Array.from({ length: n }, chatBody);
  const samples: Sample[] = new Array(n);
  const inflight: Promise<void>[] = [];
  const start = performance.now() + 2;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (i < n && start + i * interval <= now) {
        const idx = i++;
        const due = start + idx * interval;
        inflight.push(
          call(target, bodies[idx]!, due).then((s) => {
            samples[idx] = s;
          }),
        );
      }
      if (i < n) setTimeout(tick, Math.max(0, start + i * interval - performance.now() - 0.5));
      else resolve();
    };
    tick();
  });
  await Promise.all(inflight);
  return { samples, wallMs: performance.now() - start };
}

/**
 * Sequential calls of several kinds, interleaved (the order rotating every round) so drift on
 * the machine lands on every kind alike: `rounds` calls of each, latency from each call's send.
 */
export async function interleaved<S extends Sample>(kinds: readonly (() => Promise<S>)[], rounds: number): Promise<S[][]> {
  const out = kinds.map((): S[] => []);
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < kinds.length; k++) {
      const at = (i + k) % kinds.length;
      out[at]!.push(await kinds[at]!());
    }
  }
  return out;
}
