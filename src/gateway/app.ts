// Builds the gateway's HTTP app (the `web` role). It never listens: workers/web.ts and
// workers/all-in-one.ts do, and tests call it in-process.
import Fastify, { type FastifyInstance } from 'fastify';
import { httpDuration, httpRequests } from '../metrics.ts';
import { findApiKeyByHash, markApiKeysUsed } from '../store/api-keys.ts';
import { KEY_CACHE_TTL_MS, createKeyCache, type KeyCache } from './auth.ts';
import { registerJsonBody } from './body.ts';
import { GATEWAY_LIMITS, type GatewayContext, type GatewayDeps } from './context.ts';
import { clientError, answerWhileClosing, frameworkError } from './edge-errors.ts';
import { envelope, toHttpError } from './http-errors.ts';
import { requestMarkerKey } from '../upstream/request-marker.ts';
import { databaseReadiness } from './readiness.ts';
import { registerAdminRoutes } from './routes/admin/index.ts';
import { registerCreateRoutes } from './routes/create.ts';
import { registerDashboardRoutes } from './routes/dashboard.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerMeRoutes } from './routes/me.ts';
import { registerResponseRoutes } from './routes/responses.ts';
import { createCompletionTracker } from './tracking.ts';
import { FailedAttempts } from './failed-attempts.ts';
import { HeldRequests } from './held-requests.ts';
import { LEASE_MS } from './idempotency.ts';
import { ByteBudget } from '../lib/byte-budget.ts';
import { parseDuration } from '../lib/duration.ts';

export type { GatewayDeps } from './context.ts';

/** How long close() waits for complete-response enqueues still retrying. */
const TRACKING_FLUSH_TIMEOUT_MS = 15_000;

export function buildApp(deps: GatewayDeps): FastifyInstance {
  const logger = deps.logger.child({ component: 'gateway' });
  const ctx: GatewayContext = {
    ...deps,
    logger,
    recording: { healthy: true },
    markerKey: deps.markerKey ?? requestMarkerKey(deps.config.ADMIN_TOKEN),
    keys: deps.keys ?? defaultKeyCache(deps),
    tracker: deps.tracker ?? createCompletionTracker({ enqueue: (p) => deps.jobs.enqueueCompleteResponse(p), logger }),
    readiness: deps.readiness ?? databaseReadiness(deps.db),
    held: new HeldRequests(),
    budget: new ByteBudget(deps.limits?.memoryBytes ?? GATEWAY_LIMITS.memoryBytes),
    adminAttempts: new FailedAttempts(),
  };
  ctx.held.start(deps.db, { staleAfterMs: parseDuration(deps.config.REALTIME_STALE_AFTER)!, leaseMs: LEASE_MS, log: logger });

  const app = Fastify({
    // One access-log line per request from the onResponse hook below, instead of Fastify's
    // two per request with the full request object.
    logger: false,
    bodyLimit: deps.config.MAX_BODY_BYTES,
    // close(): idle keep-alive sockets are closed at once, in-flight requests finish.
    forceCloseConnections: 'idle',
    // Answered by answerWhileClosing instead, in the envelope.
    return503OnClosing: false,
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
    requestIdHeader: false,
    // Above common load balancers' idle timeouts, so they close idle connections first.
    keepAliveTimeout: 72_000,
  });

  registerJsonBody(app);

  app.setErrorHandler((err, req, reply) => {
    const answer = toHttpError(err);
    if (answer.unexpected) {
      logger.error({ err, method: req.method, route: req.routeOptions.url, requestId: req.volleyRequestId }, 'request failed');
    }
    if (answer.retryAfterSeconds !== undefined) void reply.header('retry-after', String(answer.retryAfterSeconds));
    return reply.code(answer.status).type('application/json').send(answer.body);
  });
  answerWhileClosing(app);

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?', 1)[0]!.slice(0, 200);
    return reply.code(404).send(envelope(404, `Invalid URL (${req.method} ${path})`, 'unknown_url'));
  });

  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const labels = { method: req.method, route, status: reply.statusCode };
    httpRequests.inc(labels);
    httpDuration.observe(labels, reply.elapsedTime / 1000);
    if (logger.isLevelEnabled('info')) {
      logger.info({ ...labels, ms: Math.round(reply.elapsedTime * 100) / 100, requestId: req.volleyRequestId ?? undefined }, 'request');
    }
    done();
  });

  registerCreateRoutes(app, ctx);
  registerResponseRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerMeRoutes(app, ctx);
  registerHealthRoutes(app, ctx);
  registerDashboardRoutes(app, ctx);

  // close() closes idle keep-alive connections once, when it starts; a connection whose
  // request was still running then goes idle later and would hold close() open until its
  // keep-alive timeout (72 s). Keep closing idle connections until the server is closed.
  let reaper: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    reaper = setInterval(() => app.server.closeIdleConnections(), 100);
    reaper.unref();
    done();
  });
  // After in-flight requests are done: store the completions they produced.
  app.addHook('onClose', async () => {
    clearInterval(reaper);
    await ctx.tracker.flush(TRACKING_FLUSH_TIMEOUT_MS);
    ctx.held.stop();
  });

  return app;
}

/** The key cache over the api_keys table that buildApp uses unless given one. */
export function defaultKeyCache(deps: Pick<GatewayDeps, 'db' | 'logger'>): KeyCache {
  const log = deps.logger.child({ component: 'auth' });
  return createKeyCache({
    lookup: (hash) => findApiKeyByHash(deps.db, hash),
    // last_used_at is advisory: once per key per cache period, off the request path.
    onUsed: (id) => {
      markApiKeysUsed(deps.db, [id]).catch((err: unknown) => log.warn({ err, keyId: id }, 'could not update last_used_at'));
    },
    ttlMs: KEY_CACHE_TTL_MS,
  });
}
