// P4: request processor throughput. A backlog of background requests (pending rows and their
// process-request jobs, exactly as createBatchOf1 writes them, but inserted in bulk so the
// producer is not what is measured) is drained by a freshly started flex process
// (workers/flex.ts, default settings) against the development upstream answering at once.
// Rate: requests made terminal per second, from the first terminal NOTIFY to the last.
import { randomUUID } from 'node:crypto';
import { newId } from '../src/ids.ts';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { openDatabase, type Executor } from '../src/db/client.ts';
import { startBoss } from '../src/jobs/boss.ts';
import { PRIORITY, QUEUES } from '../src/jobs/definitions.ts';
import { processRequestJobId } from '../src/db/pgboss.ts';
import { createLogger } from '../src/logger.ts';
import { TERMINAL_CHANNEL } from '../src/db/channels.ts';
import { Listener } from '../src/poller/listener.ts';
import { createSingleRequestBatches, type NewRequest } from '../src/store/requests/create.ts';
import type { Role } from './lib/processes.ts';
import { vacuumChurnedTables } from './lib/database.ts';
import { median } from './lib/stats.ts';

export interface P4Options {
  url: string;
  db: Executor;
  pool: pg.Pool;
  boss: PgBoss;
  reps: number;
  requests: number;
  /** Longest wait per run; what is not terminal by then is reported as unfinished. */
  maxSeconds: number;
  /** Starts a flex process (the caller owns its environment). */
  startFlex(): Role;
  log: (line: string) => void;
}

export interface P4Result {
  req_per_s: number;
  runs: { req_per_s: number; first_terminal_ms: number }[];
  requests_per_run: number;
  lost: number;
  /** Still pending when a run hit maxSeconds (not lost: canceled by the bench before the next run). */
  unfinished: number;
  flex_rss_mb: number | undefined;
}

const silent = createLogger('silent');

export async function runP4(opts: P4Options): Promise<P4Result> {
  const listener = new Listener({ url: opts.url, logger: silent });
  await listener.start();
  let onTerminal: ((ids: string[]) => void) | undefined;
  await listener.subscribe(TERMINAL_CHANNEL, (payload) => onTerminal?.(payload.split(',')));
  const runs: P4Result['runs'] = [];
  let lost = 0;
  let unfinished = 0;
  let flexRss: number | undefined;
  try {
    for (let rep = 0; rep < opts.reps; rep++) {
      await vacuumChurnedTables(opts.pool);
      // Minted as the gateway mints them (time-ordered): random v4 ids would land on random
      // leaves of the 5,000,000-row table's primary key in P6, a cost the gateway's ids avoid.
      const ids: string[] = Array.from({ length: opts.requests }, () => newId());
      const owner = randomUUID();
      const rows: NewRequest[] = ids.map((id) => ({
        requestId: id,
        batchId: id,
        endpoint: '/v1/chat/completions',
        model: 'dev-model',
        serviceTier: 'default',
        background: true,
        body: JSON.stringify({ model: 'dev-model', background: true, messages: [{ role: 'user', content: `bench ${id}` }] }),
        createdBy: owner,
        apiKeyId: null,
        state: 'pending',
        completionWindow: '10m',
        expiresAt: new Date(Date.now() + 600_000),
      }));
      for (let i = 0; i < rows.length; i += 1000) await createSingleRequestBatches(opts.db, rows.slice(i, i + 1000));
      for (let i = 0; i < ids.length; i += 1000) {
        await opts.boss.insert(
          QUEUES.processRequest,
          ids.slice(i, i + 1000).map((id) => ({
            id: processRequestJobId(id, 0),
            data: { requestId: id },
            priority: PRIORITY.background,
            group: { id: 'dev-model', tier: 'dev-model' },
          })),
        );
      }
      const waiting = new Set<string>(ids);
      let first: number | undefined;
      let last = 0;
      let allDone!: () => void;
      const done = new Promise<void>((resolve) => (allDone = resolve));
      onTerminal = (changed) => {
        const now = performance.now();
        for (const id of changed) {
          if (waiting.delete(id)) {
            first ??= now;
            last = now;
          }
        }
        if (waiting.size === 0) allDone();
      };
      const readsBefore = await blockReads(opts.pool);
      const spawned = performance.now();
      const flex = opts.startFlex();
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), opts.maxSeconds * 1000).unref());
      const outcome = await Promise.race([done, timeout]);
      onTerminal = undefined;
      flex.peakRssMb();
      await flex.stop();
      flexRss = Math.max(flexRss ?? 0, flex.maxRssMb ?? 0);
      if (outcome === 'timeout') opts.log(`P4: ${waiting.size} of ${ids.length} not terminal after ${opts.maxSeconds} s`);
      const left = [...waiting];
      if (left.length > 0) {
        // Not lost, just not reached: take them out so the next run starts from a clean queue.
        await opts.pool.query(`DELETE FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry')`, [QUEUES.processRequest]);
        await opts.pool.query(
          `UPDATE requests SET state = 'canceled', canceled_at = now(), updated_at = now()
           WHERE id = ANY($1::uuid[]) AND state NOT IN ('completed', 'failed', 'canceled')`,
          [left],
        );
        unfinished += left.length;
      }
      const leftSet = new Set(left);
      const lostHere = await verifyBackground(opts.pool, ids.filter((id) => !leftSet.has(id)));
      lost += lostHere;
      // n-1 intervals between the first and the last completion.
      const rate = first !== undefined && last > first ? ((ids.length - waiting.size - 1) * 1000) / (last - first) : 0;
      runs.push({ req_per_s: rate, first_terminal_ms: (first ?? spawned) - spawned });
      const reads = topReads(readsBefore, await blockReads(opts.pool));
      opts.log(`P4 rep ${rep + 1}: ${rate.toFixed(0)} requests/s (${ids.length} requests; first one terminal ${((first ?? spawned) - spawned).toFixed(0)} ms after spawn), lost ${lostHere}; blocks read (not in shared buffers): ${reads}`);
    }
  } finally {
    await listener.stop();
  }
  return { req_per_s: median(runs.map((r) => r.req_per_s)), runs, requests_per_run: opts.requests, lost, unfinished, flex_rss_mb: flexRss };
}

/** runP4 on the database at `url`, with a drizzle handle and a pg-boss of its own for the backlog. */
export async function runP4At(url: string, pool: pg.Pool, opts: Omit<P4Options, 'url' | 'db' | 'pool' | 'boss'>): Promise<P4Result> {
  const db = openDatabase(url, { max: 4, applicationName: 'bench-p4' });
  const boss = await startBoss({ url, logger: silent, supervise: false, schedule: false, max: 4 });
  try {
    return await runP4({ ...opts, url, db: db.db, pool, boss });
  } finally {
    await boss.stop({ graceful: false, timeout: 1_000 });
    await db.close();
  }
}

/**
 * Blocks each relation of the database read from outside shared buffers so far (tables and
 * indexes): the difference over a repetition shows what a larger table costs the processor.
 */
async function blockReads(pool: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ name: string; reads: string }>(
    `SELECT relname AS name, coalesce(heap_blks_read, 0) + coalesce(toast_blks_read, 0) AS reads FROM pg_statio_user_tables
     UNION ALL SELECT indexrelname, idx_blks_read FROM pg_statio_user_indexes`,
  );
  return new Map(rows.map((r) => [r.name, Number(r.reads)]));
}

function topReads(before: Map<string, number>, after: Map<string, number>): string {
  const deltas = [...after].map(([name, n]) => [name, n - (before.get(name) ?? 0)] as const).filter(([, d]) => d > 0);
  const total = deltas.reduce((sum, [, d]) => sum + d, 0);
  const top = deltas.sort((a, b) => b[1] - a[1]).slice(0, 3).map(([name, d]) => `${name} ${d}`);
  return `${total}${top.length > 0 ? ` (${top.join(', ')})` : ''}`;
}

/** Each request must be `completed` with 200 and the development upstream's echo of its own prompt. */
async function verifyBackground(pool: pg.Pool, ids: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ id: string; state: string; response_status: number | null; response_body: string | null }>(
    `SELECT id, state, response_status, response_body FROM requests WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  let lost = 0;
  for (const id of ids) {
    const row = byId.get(id);
    if (!row || row.state !== 'completed' || row.response_status !== 200 || !row.response_body?.includes(`bench ${id}`)) lost++;
  }
  return lost;
}
