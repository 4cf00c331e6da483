// The whole service in-process for end-to-end tests: a database clone of this test file's
// own, pg-boss, the response workers, the request processor, the poller,
// the development upstream and the gateway listening on a free port.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import type { PgBoss } from 'pg-boss';
import { startDevUpstream, type DevUpstream, type DevUpstreamOptions } from '../../src/dev-upstream/server.ts';
import { buildApp } from '../../src/gateway/app.ts';
import { openDatabase } from '../../src/db/client.ts';
import type { GatewayConfig, GatewayJobs } from '../../src/gateway/context.ts';
import { gatewayCancel, gatewayJobs, gatewayProducer } from '../../src/gateway/wiring.ts';
import { jobMetricsEvents } from '../../src/jobs/run.ts';
import { startBoss } from '../../src/jobs/boss.ts';
import { startRequestProcessor } from '../../src/jobs/request-processor.ts';
import { startResponseWorkers } from '../../src/jobs/response-workers.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { Listener } from '../../src/poller/listener.ts';
import { Poller } from '../../src/poller/poller.ts';
import { findRequestDetail } from '../../src/store/requests/find.ts';
import type { RequestDetail } from '../../src/store/requests/rows.ts';
import { insertApiKey } from '../../src/store/api-keys.ts';
import { findOrCreateUser } from '../../src/store/users.ts';
import { createUpstreamProxy } from '../../src/upstream/proxy.ts';
import { requestMarkerKey } from '../../src/upstream/request-marker.ts';
import { isTerminal } from '../../src/db/schema/requests.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { waitFor } from './wait.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestKey {
  key: string;
  id: string;
  userId: string;
}

export interface TestGateway {
  /** `http://127.0.0.1:<port>` */
  url: string;
  t: TestDatabase;
  boss: PgBoss;
  app: FastifyInstance;
  upstream: DevUpstream;
  createKey(opts?: { user?: string; models?: string[] | null }): Promise<TestKey>;
  /** The official SDK pointed at the gateway, unchanged. */
  client(key: string, opts?: { maxRetries?: number; timeout?: number }): OpenAI;
  /** Waits until the row exists and is terminal. */
  terminalRow(requestId: string, timeoutMs?: number): Promise<RequestDetail>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  upstream?: DevUpstreamOptions;
  /** Proxy realtime requests to this base URL instead of the development upstream. */
  proxyTo?: string;
  /** Wraps the gateway's queue operations (fault injection). */
  wrapJobs?: (jobs: GatewayJobs) => GatewayJobs;
  config?: Partial<GatewayConfig>;
  /** Per-model concurrency overrides for the request processor. */
  modelConcurrency?: Record<string, number>;
  /** CREATE_RESPONSE_MODE: create-response's row written inline (default) or its job enqueued. */
  createResponse?: 'inline' | 'queue';
  /** Every component logs here (default: log, or TEST_LOG_LEVEL). */
  logger?: Logger;
}

const defaultLogger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const log = opts.logger ?? defaultLogger;
  const t = await createTestDatabase();
  const upstream = await startDevUpstream(opts.upstream ?? {});
  const boss = await startBoss({ url: t.url, logger: log, supervise: false, schedule: false, max: 10 });
  await startResponseWorkers({ boss, db: t.db, logger: log, events: jobMetricsEvents });
  const listener = new Listener({ url: t.url, logger: log });
  await listener.start();
  const processor = await startRequestProcessor({
    boss,
    db: t.db,
    listener,
    logger: log,
    upstream: { url: upstream.url, timeoutMs: 60_000, markerKey: requestMarkerKey(ADMIN_TOKEN) },
    modelConcurrency: { default: 8, overrides: opts.modelConcurrency ?? {} },
    backoff: { baseMs: 100, maxMs: 1_000 },
    localConcurrency: 8,
    pollingIntervalSeconds: 0.5,
    events: jobMetricsEvents,
  });
  // As startGateway does: create-response's write commits asynchronously.
  const createDatabase = openDatabase(t.url, { max: 4, synchronousCommit: false });
  const producer = gatewayProducer(boss, createDatabase.pool);
  const poller = new Poller({ listener, db: t.db, logger: log });
  await poller.start();
  const proxy = createUpstreamProxy({ baseUrl: opts.proxyTo ?? upstream.url, timeoutMs: 60_000, markerKey: requestMarkerKey(ADMIN_TOKEN) });
  const config: GatewayConfig = {
    MAX_BODY_BYTES: 64 * 1024,
    ADMIN_TOKEN,
    BACKGROUND_COMPLETION_WINDOW: '10m',
    FLEX_COMPLETION_WINDOW: '1h',
    BLOCKING_FLEX_TIMEOUT_MS: 30_000,
    API_KEY_CACHE_TTL_MS: 30_000,
    CREATE_RESPONSE_DURABLE: 'before-reply',
    ...opts.config,
  };
  const app = buildApp({
    config,
    logger: log,
    db: t.db,
    jobs: (opts.wrapJobs ?? ((j) => j))(gatewayJobs(producer, t.db, boss, opts.createResponse ?? 'inline', createDatabase.db)),
    poller,
    upstream: proxy,
    cancelRequest: gatewayCancel(t.db),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  let n = 0;
  return {
    url,
    t,
    boss,
    app,
    upstream,
    async createKey(keyOpts = {}) {
      const user = await findOrCreateUser(t.db, keyOpts.user ?? `user-${process.pid}-${n++}-${Math.random()}`);
      const created = await insertApiKey(t.db, { userId: user.id, allowedModels: keyOpts.models ?? null });
      return { key: created.key, id: created.id, userId: user.id };
    },
    client(key, clientOpts = {}) {
      return new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: clientOpts.maxRetries ?? 0, timeout: clientOpts.timeout ?? 30_000 });
    },
    terminalRow(requestId, timeoutMs = 20_000) {
      return waitFor(
        async () => {
          const row = await findRequestDetail(t.db, requestId);
          return row && isTerminal(row.state) ? row : undefined;
        },
        { timeoutMs, what: `request ${requestId} to be terminal` },
      );
    },
    async close() {
      await app.close();
      await producer.close();
      await poller.stop();
      await boss.stop({ graceful: true, timeout: 5_000 });
      await processor.stop();
      await listener.stop();
      await proxy.close();
      await upstream.close();
      await createDatabase.close();
      await t.drop();
    },
  };
}
