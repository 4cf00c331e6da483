// The whole service in-process for end-to-end tests, wired exactly as `npm start` wires it
// (src/roles/all-in-one.ts): a database clone of this test file's own, the development
// upstream (or another), and every role on a free port. Only the configuration differs from
// production: small limits and fast retries, set as the environment variables an operator
// would set.
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import type { PgBoss } from 'pg-boss';
import { loadConfig } from '../../src/config.ts';
import { startDevUpstream, type DevUpstream, type DevUpstreamOptions } from '../../src/dev-upstream/server.ts';
import type { GatewayJobs, GatewayLimits } from '../../src/gateway/context.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { startAllRoles, type AllRoles } from '../../src/roles/all-in-one.ts';
import { findRequestDetail } from '../../src/store/requests/find.ts';
import { isTerminal, type RequestDetail } from '../../src/store/requests/rows.ts';
import { insertApiKey } from '../../src/store/api-keys.ts';
import { findOrCreateUser } from '../../src/store/users.ts';
import { freePort } from '../../src/db/embedded.ts';
import { spawnRole, type Child } from './child.ts';
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
  roles: AllRoles;
  upstream: DevUpstream;
  createKey(opts?: { user?: string; models?: string[] | null }): Promise<TestKey>;
  /** Registers a model through POST /admin/models (default: served by this upstream, api responses). */
  addModel(name: string, opts?: { api?: 'responses' | 'chat'; upstreamUrl?: string; concurrency?: number }): Promise<void>;
  /** The official SDK pointed at the gateway, unchanged. */
  client(key: string, opts?: { maxRetries?: number; timeout?: number }): OpenAI;
  /** Waits until the row exists and is terminal. */
  terminalRow(requestId: string, timeoutMs?: number): Promise<RequestDetail>;
  /**
   * Another gateway process (workers/web.ts, a child process) on this service's database
   * and upstream: for what must hold across gateway processes. Closed with the service.
   */
  startWebProcess(env?: Record<string, string>): Promise<{ url: string; child: Child }>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  upstream?: DevUpstreamOptions;
  /** Send model calls (realtime and background) to this base URL instead of the development upstream. */
  proxyTo?: string;
  /** Wraps the gateway's queue operations (fault injection). */
  wrapJobs?: (jobs: GatewayJobs) => GatewayJobs;
  /** Smaller memory bounds for the gateway. */
  limits?: Partial<GatewayLimits>;
  /** Environment variables over the test defaults below. */
  env?: Record<string, string>;
  /** Every component logs here (default: silent, or TEST_LOG_LEVEL). */
  logger?: Logger;
}

const defaultLogger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/** The test service's environment: production defaults but for small limits and fast retries. */
const TEST_ENV = {
  ADMIN_TOKEN,
  PORT: '0',
  HOST: '127.0.0.1',
  MAX_BODY_BYTES: String(64 * 1024),
  BLOCKING_FLEX_TIMEOUT_MS: '30000',
  MODEL_CONCURRENCY: '8',
  PROCESSOR_CONCURRENCY: '8',
  RETRY_BASE_MS: '100',
  RETRY_MAX_MS: '1000',
  UPSTREAM_TIMEOUT_MS: '60000',
  // As the helper's pg-boss stop used to: jobs still running after this are handed back.
  SHUTDOWN_TIMEOUT_MS: '5000',
};

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const log = opts.logger ?? defaultLogger;
  const t = await createTestDatabase();
  const upstream = await startDevUpstream(opts.upstream ?? {});
  const upstreamUrl = opts.proxyTo ?? upstream.url;
  const env = loadConfig({ ...TEST_ENV, DATABASE_URL: t.url, UPSTREAM_URL: upstreamUrl, ...opts.env });
  const roles = await startAllRoles({
    env,
    logger: log,
    databaseUrl: t.url,
    upstreamUrl,
    ...(opts.wrapJobs ? { wrapJobs: opts.wrapJobs } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  const url = roles.web.gateway.url;

  let n = 0;
  const children: Child[] = [];
  return {
    url,
    t,
    boss: roles.boss,
    app: roles.web.gateway.app,
    roles,
    upstream,
    async createKey(keyOpts = {}) {
      const user = await findOrCreateUser(t.db, keyOpts.user ?? `user-${process.pid}-${n++}-${Math.random()}`);
      const created = await insertApiKey(t.db, { userId: user.id, allowedModels: keyOpts.models ?? null });
      return { key: created.key, id: created.id, userId: user.id };
    },
    async addModel(name, modelOpts = {}) {
      const res = await fetch(`${url}/admin/models`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          upstream_url: modelOpts.upstreamUrl ?? upstream.url,
          api: modelOpts.api ?? 'responses',
          ...(modelOpts.concurrency !== undefined ? { concurrency: modelOpts.concurrency } : {}),
        }),
      });
      if (res.status !== 201) throw new Error(`POST /admin/models ${name}: ${res.status} ${await res.text()}`);
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
    async startWebProcess(extra = {}) {
      const port = await freePort();
      const child = spawnRole('workers/web.ts', { ...TEST_ENV, DATABASE_URL: t.url, UPSTREAM_URL: upstreamUrl, PORT: String(port), ...opts.env, ...extra });
      children.push(child);
      await child.waitForOutput('web role ready', 60_000);
      return { url: `http://127.0.0.1:${port}`, child };
    },
    async close() {
      for (const child of children) {
        child.process.kill('SIGTERM');
        await child.exited;
      }
      await roles.close();
      await upstream.close();
      await t.drop();
    },
  };
}
