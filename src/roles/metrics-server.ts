import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerMatcher } from '../lib/bearer.ts';
import { registry } from '../metrics.ts';
import { envelope } from '../gateway/http-errors.ts';

/**
 * GET /metrics (Prometheus text) and GET /healthz for roles without an HTTP server of their
 * own (worker, flex), on METRICS_PORT. The gateway serves the same registry on its port.
 */
export async function startMetricsServer(opts: {
  host: string;
  port: number;
  /** METRICS_TOKEN: when set, /metrics requires `Authorization: Bearer` with it. */
  token?: string | undefined;
}): Promise<{ url: string; close(): Promise<void> }> {
  const authorized = opts.token === undefined ? () => true : bearerMatcher(opts.token);
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      if (!authorized(req.headers.authorization)) {
        const body = JSON.stringify(envelope(401, 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".', 'invalid_metrics_token'));
        res.writeHead(401, { 'content-type': 'application/json' }).end(body);
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(envelope(404, 'Not found.', 'unknown_url')));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
