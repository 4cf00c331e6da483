// Starts the gateway on the process's shared pieces and listens (the web role, roles/web.ts):
// producer, inline create writer, poller, upstream proxy, the app. close() is the graceful
// half of shutdown: stop accepting, let in-flight requests finish, store their completions.
import { API_KEYS_CHANNEL } from '../db/channels.ts';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { Env } from '../config.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { preparingExecutor } from '../jobs/boss-database.ts';
import { createBatchOf1 } from '../jobs/batch-of-1.ts';
import { Producer } from '../jobs/producer.ts';
import type { Logger } from '../logger.ts';
import { observePollerWaiters } from '../metrics.ts';
import type { Listener } from '../poller/listener.ts';
import { Poller } from '../poller/poller.ts';
import { cancelRequest } from '../store/requests/cancel.ts';
import type { ModelCatalog } from '../upstream/model-catalog.ts';
import { createUpstreamProxy } from '../upstream/proxy.ts';
import { requestMarkerKey } from '../upstream/request-marker.ts';
import { buildApp, defaultKeyCache } from './app.ts';
import type { GatewayJobs, GatewayLimits } from './context.ts';
import { DURABILITY_POLICIES } from './durability.ts';
import { InlineCompleteResponse, InlineCreateResponse } from './recording.ts';

export interface StartGatewayOptions {
  env: Env;
  logger: Logger;
  database: Database;
  /** The database's URL: the gateway opens its own small pool for create-response writes. */
  databaseUrl: string;
  boss: PgBoss;
  /** The process's LISTEN connection (the poller subscribes to terminal transitions). */
  listener: Listener;
  /** The models table's view (routes, APIs, keys). */
  catalog: ModelCatalog;
  /** Overrides env.ADMIN_TOKEN (npm start generates one in embedded mode). */
  adminToken?: string;
  /** Tests only: wraps the queue operations, to inject faults. */
  wrapJobs?: (jobs: GatewayJobs) => GatewayJobs;
  /** Tests only: smaller memory bounds. */
  limits?: Partial<GatewayLimits>;
}

export interface RunningGateway {
  app: FastifyInstance;
  /** `http://host:port` as a client would reach it. */
  url: string;
  close(): Promise<void>;
}

export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  const { env, logger, database, boss } = opts;
  const durability = DURABILITY_POLICIES[env.DURABILITY];
  // create-response's write has a pool of its own, so its commit setting (durability.ts)
  // stays away from every other write.
  const createDatabase = openDatabase(opts.databaseUrl, {
    max: 4,
    applicationName: 'volley-web-create',
    synchronousCommit: durability.syncCreateCommit,
  });
  const producer = new Producer(boss, {
    completeLingerMs: durability.completeLingerMs,
    // A create-response job (from producers that only enqueue) commits as the inline write does.
    createDb: preparingExecutor(createDatabase.pool),
  });
  const inline = new InlineCreateResponse(createDatabase.db);
  // On the main pool: it commits synchronously (the client takes the answer for stored).
  const inlineComplete = new InlineCompleteResponse(database.db);
  const jobs: GatewayJobs = {
    enqueueCreateResponse: (p) => inline.record(p),
    enqueueCompleteResponse: (p) => producer.enqueueCompleteResponse(p),
    completeInline: (p) => inlineComplete.record(p),
    createBatchOf1: (input) => createBatchOf1(database.db, boss, input),
  };
  const poller = new Poller({ listener: opts.listener, db: database.db, logger });
  await poller.start();
  observePollerWaiters(() => poller.waiting);
  const adminToken = opts.adminToken ?? env.ADMIN_TOKEN;
  const markerKey = requestMarkerKey(adminToken);
  const upstream = createUpstreamProxy({ markerKey, timeoutMs: env.UPSTREAM_TIMEOUT_MS });
  // A revoked or changed key is announced (API_KEYS_CHANNEL): forget every cached key, so it
  // fails here within a round trip. After a lost connection (a missed announcement) too.
  const keys = defaultKeyCache({ db: database.db, logger });
  await opts.listener.subscribe(API_KEYS_CHANNEL, () => keys.clear());
  opts.listener.onReconnect(() => keys.clear());
  const app = buildApp({
    keys,
    markerKey,
    config: {
      MAX_BODY_BYTES: env.MAX_BODY_BYTES,
      ...(adminToken !== undefined ? { ADMIN_TOKEN: adminToken } : {}),
      BACKGROUND_COMPLETION_WINDOW: env.BACKGROUND_COMPLETION_WINDOW,
      FLEX_COMPLETION_WINDOW: env.FLEX_COMPLETION_WINDOW,
      BLOCKING_FLEX_TIMEOUT_MS: env.BLOCKING_FLEX_TIMEOUT_MS,
      ...(env.METRICS_TOKEN !== undefined ? { METRICS_TOKEN: env.METRICS_TOKEN } : {}),
      DURABILITY: env.DURABILITY,
      REALTIME_STALE_AFTER: env.REALTIME_STALE_AFTER,
    },
    logger,
    db: database.db,
    jobs: opts.wrapJobs ? opts.wrapJobs(jobs) : jobs,
    poller,
    upstream,
    catalog: opts.catalog,
    cancelRequest: (requestId) => cancelRequest(database.db, requestId),
    ...(opts.limits ? { limits: opts.limits } : {}),
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
      await inline.close();
      await inlineComplete.close();
      await upstream.close();
      await createDatabase.close();
    },
  };
}
