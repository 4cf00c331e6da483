import { randomUUID } from 'node:crypto';
import type { Job, PgBoss } from 'pg-boss';
import { startBoss } from '../../../src/jobs/boss.ts';
import type { ProcessRequestPayload } from '../../../src/jobs/definitions.ts';
import { createBatchOf1, type BatchOf1Input } from '../../../src/jobs/batch-of-1.ts';
import { startRequestProcessor, type RequestProcessor, type RequestProcessorOptions } from '../../../src/jobs/request-processor.ts';
import { createLogger } from '../../../src/logger.ts';
import { ModelCatalog } from '../../../src/upstream/model-catalog.ts';
import { Listener } from '../../../src/poller/listener.ts';
import { findRequestDetail } from '../../../src/store/requests/find.ts';
import type { RequestDetail } from '../../../src/store/requests/rows.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { startFaultUpstream, type FaultUpstream } from '../../helpers/fault-upstream.ts';
import { waitFor as waitUntil } from '../../helpers/wait.ts';

export const log = createLogger(process.env.LOG_LEVEL ?? 'silent');

export interface Harness {
  t: TestDatabase;
  boss: PgBoss;
  listener: Listener;
  upstream: FaultUpstream;
  processor: RequestProcessor | undefined;
  close(): Promise<void>;
}

/**
 * A test database, a pg-boss that supervises every second (so a dead run's job is retried
 * soon after its heartbeat goes stale), the process's Listener, a fault upstream and, unless
 * `processor: false`, a request processor in this process with fast retries.
 */
export async function startHarness(
  opts: { processor?: boolean; upstreamTimeoutMs?: number; processorOptions?: Partial<RequestProcessorOptions> } = {},
): Promise<Harness> {
  const t = await createTestDatabase();
  const upstream = await startFaultUpstream();
  const listener = new Listener({ url: t.url, logger: log, reconnectDelayMs: 100 });
  await listener.start();
  const boss = await startBoss({
    url: t.url,
    logger: log,
    listener,
    max: 10,
    extra: { superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 },
  });
  const processor =
    opts.processor === false
      ? undefined
      : await startTestProcessor(
          { t, boss, listener, upstream },
          {
            upstream: { timeoutMs: opts.upstreamTimeoutMs ?? 5_000 },
            backoff: { baseMs: 200, maxMs: 2_000 },
            localConcurrency: 8,
            ...opts.processorOptions,
          },
          { apiKey: 'sk-upstream-test' },
        );
  return {
    t,
    boss,
    listener,
    upstream,
    processor,
    async close() {
      await boss.stop({ graceful: false, timeout: 1_000 });
      await processor?.stop();
      await listener.stop();
      await upstream.close();
      await t.drop();
    },
  };
}

/**
 * A request processor on the harness's database, upstream, pg-boss and listener (any of the
 * last two may be another process's stand-ins), with fast test settings.
 */
export async function startTestProcessor(
  h: Pick<Harness, 't' | 'boss' | 'listener' | 'upstream'>,
  overrides: Partial<RequestProcessorOptions> = {},
  limits: { concurrency?: number; models?: Record<string, number>; apiKey?: string } = {},
): Promise<RequestProcessor> {
  return startRequestProcessor({
    boss: h.boss,
    db: h.t.db,
    listener: h.listener,
    logger: log,
    upstream: { timeoutMs: 5_000 },
    catalog: await testCatalog(h, limits),
    backoff: { baseMs: 100, maxMs: 1_000 },
    localConcurrency: 2,
    pollingIntervalSeconds: 0.5,
    ...overrides,
  });
}

/**
 * The models table's view the processor reads: every model on the fault upstream, with
 * `concurrency` as MODEL_CONCURRENCY (default 8) and `models`' own limits written as rows.
 */
export async function testCatalog(
  h: Pick<Harness, 't' | 'upstream'>,
  limits: { concurrency?: number; models?: Record<string, number>; apiKey?: string } = {},
): Promise<ModelCatalog> {
  for (const [name, concurrency] of Object.entries(limits.models ?? {})) {
    await h.t.pool.query(
      `INSERT INTO models (name, upstream_url, api, concurrency) VALUES ($1, $2, 'responses', $3)
       ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency`,
      [name, h.upstream.url, concurrency],
    );
  }
  const catalog = new ModelCatalog({
    db: h.t.db,
    defaultUrl: h.upstream.url,
    defaultApiKey: limits.apiKey,
    defaultConcurrency: limits.concurrency ?? 8,
    secret: () => undefined,
    logger: log,
  });
  await catalog.reload();
  return catalog;
}

export const OWNER = randomUUID();

/** A background request (pending row + its first process-request job). */
export async function submit(
  h: Pick<Harness, 't' | 'boss'>,
  overrides: Partial<BatchOf1Input> & { body?: Record<string, unknown> } = {},
): Promise<string> {
  const requestId = randomUUID();
  const model = overrides.model ?? 'm-default';
  const { body, ...rest } = overrides;
  await createBatchOf1(h.t.db, h.boss, {
    requestId,
    endpoint: '/v1/chat/completions',
    model,
    serviceTier: 'default',
    background: true,
    createdBy: OWNER,
    apiKeyId: null,
    completionWindow: '10m',
    ...rest,
    body: JSON.stringify(body ?? { model, messages: [{ role: 'user', content: 'hi' }], stream: true, background: true, service_tier: 'flex' }),
  });
  return requestId;
}

/** Polls `read` until `done` holds (no fixed sleeps); throws with the last value on timeout. */
/**
 * test/helpers/wait.ts's waitFor with a separate predicate: resolves with the first value
 * `done` accepts, and on timeout says what the last value was.
 */
export async function waitFor<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  let last: T | undefined;
  try {
    return await waitUntil(
      async () => {
        last = await read();
        return done(last) ? last : undefined;
      },
      { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: opts.intervalMs ?? 25, what: opts.what ?? 'condition' },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last value: ${JSON.stringify(last)}`);
  }
}

/**
 * Fetches process-request jobs the way a worker would, handing each out by request id (a
 * fetch may return other requests' jobs too; those are kept for their own call).
 */
export function jobFetcher(boss: PgBoss, batchSize = 10): (requestId: string) => Promise<Job<ProcessRequestPayload>> {
  const fetched = new Map<string, Job<ProcessRequestPayload>>();
  return async (requestId) => {
    await waitFor(
      async () => {
        for (const job of await boss.fetch<ProcessRequestPayload>('process-request', { batchSize })) {
          fetched.set(job.data.requestId, job);
        }
        return fetched.has(requestId);
      },
      (found) => found,
      { what: `a process-request job for ${requestId}` },
    );
    const job = fetched.get(requestId)!;
    fetched.delete(requestId);
    return job;
  };
}

export async function row(t: TestDatabase, id: string): Promise<RequestDetail> {
  const detail = await findRequestDetail(t.db, id);
  if (!detail) throw new Error(`no request ${id}`);
  return detail;
}

export function waitForState(t: TestDatabase, id: string, states: string[], timeoutMs?: number): Promise<RequestDetail> {
  return waitFor(
    () => row(t, id),
    (r) => states.includes(r.state),
    { what: `request ${id} in ${states.join('|')}`, ...(timeoutMs ? { timeoutMs } : {}) },
  );
}
