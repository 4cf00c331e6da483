import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fault-injecting model server for the request processor's tests. Each call's answer is
 * scripted per request id (the `x-volley-request-id` header) or per model; every call is
 * recorded with timestamps and how it ended, and the server counts concurrent calls per
 * model, so limits can be checked where they matter: at the upstream.
 */

export type FaultAction =
  /** Answer `status` (200) with `body` (a chat completion with usage) after `delayMs`. */
  | { kind: 'respond'; status?: number; body?: string | object; headers?: Record<string, string>; delayMs?: number }
  /** Destroy the socket after `delayMs`: the client sees a connection reset. */
  | { kind: 'reset'; delayMs?: number }
  /** Never answer; the call ends when the client gives up (or the server closes). */
  | { kind: 'hang' };

export type Script = FaultAction[] | ((n: number, call: FaultCall) => FaultAction);

export interface FaultCall {
  seq: number;
  model: string;
  path: string;
  requestId: string | undefined;
  authorization: string | undefined;
  body: Record<string, unknown>;
  /** Epoch ms when the request arrived, and when it ended (answered, reset or abandoned). */
  startedAt: number;
  endedAt?: number;
  outcome?: 'answered' | 'reset' | 'client-closed';
  /** Calls of the same model in flight when this one arrived, itself included. */
  concurrentAtStart: number;
}

export interface FaultUpstream {
  /** Base URL including `/v1`. */
  url: string;
  calls: FaultCall[];
  /** Scripts calls for a request id or a model: the nth call of that key gets `script[n]` (the last repeats). */
  script(key: string, script: Script): void;
  callsFor(key: string): FaultCall[];
  /** Most calls of `model` ever in flight at once. */
  maxConcurrent(model: string): number;
  close(): Promise<void>;
}

export const OK_BODY = {
  id: 'chatcmpl-fault',
  object: 'chat.completion',
  created: 0,
  model: 'fault',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
};

export async function startFaultUpstream(): Promise<FaultUpstream> {
  const calls: FaultCall[] = [];
  const scripts = new Map<string, Script>();
  const counts = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const sockets = new Set<Socket>();

  const pick = (call: FaultCall): FaultAction => {
    for (const key of [call.requestId, call.model]) {
      if (key === undefined) continue;
      const script = scripts.get(key);
      if (!script) continue;
      const n = counts.get(key) ?? 0;
      counts.set(key, n + 1);
      if (typeof script === 'function') return script(n, call);
      return script[Math.min(n, script.length - 1)] ?? { kind: 'respond' };
    }
    return { kind: 'respond' };
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      // recorded as {}
    }
    const model = typeof body.model === 'string' ? body.model : '';
    const concurrent = (inFlight.get(model) ?? 0) + 1;
    inFlight.set(model, concurrent);
    maxInFlight.set(model, Math.max(maxInFlight.get(model) ?? 0, concurrent));
    const call: FaultCall = {
      seq: calls.length,
      model,
      path: req.url ?? '',
      // The processor's signed marker is `<requestId>.<expiry>.<body hash>.<mac>`.
      requestId: header(req, 'x-volley-request-id')?.split('.')[0],
      authorization: header(req, 'authorization'),
      body,
      startedAt: Date.now(),
      concurrentAtStart: concurrent,
    };
    calls.push(call);
    let timer: NodeJS.Timeout | undefined;
    const end = (outcome: NonNullable<FaultCall['outcome']>) => {
      if (call.outcome) return;
      call.outcome = outcome;
      call.endedAt = Date.now();
      inFlight.set(model, (inFlight.get(model) ?? 1) - 1);
      clearTimeout(timer);
    };
    res.on('close', () => end(res.writableFinished ? 'answered' : 'client-closed'));
    const action = pick(call);
    const after = (ms: number | undefined, fn: () => void) => {
      timer = setTimeout(fn, ms ?? 0);
    };
    switch (action.kind) {
      case 'hang':
        return;
      case 'reset':
        return after(action.delayMs, () => {
          end('reset');
          req.socket.destroy();
        });
      case 'respond':
        return after(action.delayMs, () => {
          const payload = typeof action.body === 'string' ? action.body : JSON.stringify(action.body ?? OK_BODY);
          res.writeHead(action.status ?? 200, { 'content-type': 'application/json', ...action.headers });
          res.end(payload);
        });
    }
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => handle(req, res, raw));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    script(key, script) {
      scripts.set(key, script);
      counts.delete(key);
    },
    callsFor(key) {
      return calls.filter((c) => c.requestId === key || c.model === key);
    },
    maxConcurrent(model) {
      return maxInFlight.get(model) ?? 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
