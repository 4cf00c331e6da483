// Starts the gateway on the process's shared pieces and listens (workers/web.ts and
// workers/all-in-one.ts): producer, poller, upstream proxy, the app. close() is the graceful
// half of shutdown: stop accepting, let in-flight requests finish, store their completions.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { Env } from '../config.ts';
import { openDatabase, type Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { observePollerWaiters } from '../metrics.ts';
import type { Listener } from '../poller/listener.ts';
import { Poller } from '../poller/poller.ts';
import { createUpstreamProxy } from '../upstream/proxy.ts';
import { requestMarkerKey } from '../upstream/request-marker.ts';
import { buildApp } from './app.ts';
import { gatewayCancel, gatewayJobs, gatewayProducer } from './wiring.ts';

export interface StartGatewayOptions {
  env: Env;
  logger: Logger;
  database: Database;
  /** The database's URL: the gateway opens its own small pool for create-response writes. */
  databaseUrl: string;
  boss: PgBoss;
  /** The process's LISTEN connection (the poller subscribes to terminal transitions). */
  listener: Listener;
  /** UPSTREAM_URL, or the development upstream's URL. */
  upstreamUrl: string;
  /** Overrides env.ADMIN_TOKEN (npm start generates one in embedded mode). */
  adminToken?: string;
}

export interface RunningGateway {
  app: FastifyInstance;
  /** `http://host:port` as a client would reach it. */
  url: string;
  close(): Promise<void>;
}

export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  const { env, logger, database, boss } = opts;
  // create-response's inline write commits asynchronously (see InlineCreateResponse); its
  // own pool keeps that setting away from every other write.
  const createDatabase = openDatabase(opts.databaseUrl, {
    max: 4,
    applicationName: 'volley-web-create',
    synchronousCommit: env.CREATE_RESPONSE_SYNC_COMMIT,
  });
  const producer = gatewayProducer(boss, createDatabase.pool, env.COMPLETE_RESPONSE_LINGER_MS);
  const poller = new Poller({ listener: opts.listener, db: database.db, logger });
  await poller.start();
  observePollerWaiters(() => poller.waiting);
  const adminToken = opts.adminToken ?? env.ADMIN_TOKEN;
  const markerKey = requestMarkerKey(adminToken);
  const upstream = createUpstreamProxy({
    markerKey,
    baseUrl: opts.upstreamUrl,
    apiKey: env.UPSTREAM_API_KEY,
    routes: env.UPSTREAM_ROUTES,
    timeoutMs: env.UPSTREAM_TIMEOUT_MS,
  });
  const app = buildApp({
    markerKey,
    config: {
      MAX_BODY_BYTES: env.MAX_BODY_BYTES,
      ...(adminToken !== undefined ? { ADMIN_TOKEN: adminToken } : {}),
      BACKGROUND_COMPLETION_WINDOW: env.BACKGROUND_COMPLETION_WINDOW,
      FLEX_COMPLETION_WINDOW: env.FLEX_COMPLETION_WINDOW,
      BLOCKING_FLEX_TIMEOUT_MS: env.BLOCKING_FLEX_TIMEOUT_MS,
      API_KEY_CACHE_TTL_MS: env.API_KEY_CACHE_TTL_MS,
      CREATE_RESPONSE_DURABLE: env.CREATE_RESPONSE_DURABLE,
    },
    logger,
    db: database.db,
    jobs: gatewayJobs(producer, database.db, boss, env.CREATE_RESPONSE_MODE, createDatabase.db),
    poller,
    upstream,
    cancelRequest: gatewayCancel(database.db),
  });
  await app.listen({ port: env.PORT, host: env.HOST });
  const { port } = app.server.address() as AddressInfo;
  const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    app,
    url,
    async close() {
      // Stops accepting and waits for in-flight requests, then for their complete-response
      // enqueues (the app's onClose hook). Blocking flex calls are answered at once with the
      // 504 "still running" envelope (stopping the poller ends their waits); their requests
      // go on in the flex role and stay retrievable.
      const closing = app.close();
      await poller.stop();
      await closing;
      await producer.close();
      await upstream.close();
      await createDatabase.close();
    },
  };
}
