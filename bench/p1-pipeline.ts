// P1: create-response + complete-response pairs per second through pg-boss (Producer in
// this process → the worker role's process → terminal rows), and, in the same run, single-row INSERT transactions
// per second on the same database at the same client concurrency. Also, in the same runs,
// the gateway's own tracking: create-response's row written directly, complete-response
// through pg-boss.
import pg from 'pg';
import { openDatabase } from '../src/db/client.ts';
import { startBoss } from '../src/jobs/boss.ts';
import { InlineCreateResponse } from '../src/gateway/recording.ts';
import { QUEUES } from '../src/jobs/definitions.ts';
import { preparingExecutor } from '../src/jobs/boss-database.ts';
import { Producer } from '../src/jobs/producer.ts';
import { DURABILITY_POLICIES } from '../src/gateway/durability.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { TERMINAL_CHANNEL } from '../src/db/channels.ts';
import { Listener } from '../src/poller/listener.ts';
import { realtimeRequest, type RequestFixture } from '../test/helpers/factories.ts';
import { forEachConcurrent, median } from './lib/stats.ts';
import { vacuumChurnedTables } from './lib/database.ts';

export interface P1Options {
  url: string;
  reps: number;
  pairs: number;
  clients: number;
  insertSeconds: number;
  log: (line: string) => void;
}

export interface P1Result {
  pairs_per_s: number;
  insert_tps: number;
  ratio: number;
  /** The same with create-response's row written inline (the gateway's default). */
  inline: { pairs_per_s: number; ratio: number };
  runs: { pairs_per_s: number; insert_tps: number; ratio: number; drain_ms: number; inline_pairs_per_s: number }[];
  clients: number;
  pairs_per_run: number;
  lost: number;
}

const silent = createLogger('silent');

export async function runP1(opts: P1Options): Promise<P1Result> {
  // The jobs are run by the worker role's own process (started by run.ts); this process
  // produces, as the web role would.
  const producerBoss = await startBoss({ url: opts.url, logger: silent, supervise: false, schedule: false, max: 10 });
  // The gateway's settings (gateway/server.ts), for the DURABILITY the bench passes to the roles.
  const durability = DURABILITY_POLICIES[loadConfig({ DURABILITY: process.env.DURABILITY }).DURABILITY];
  // The gateway's create-response pool, used by both modes as in the gateway.
  const producerDb = openDatabase(opts.url, {
    max: 10,
    applicationName: 'bench-p1-producer',
    synchronousCommit: durability.syncCreateCommit,
  });
  const producer = new Producer(producerBoss, {
    completeLingerMs: durability.completeLingerMs,
    createDb: preparingExecutor(producerDb.pool),
  });
  const inline = new InlineCreateResponse(producerDb.db);
  const listener = new Listener({ url: opts.url, logger: silent });
  await listener.start();
  let onTerminal: ((ids: string[]) => void) | undefined;
  await listener.subscribe(TERMINAL_CHANNEL, (payload) => onTerminal?.(payload.split(',')));

  const check = new pg.Pool({ connectionString: opts.url, max: opts.clients, application_name: 'bench-p1-insert' });
  await check.query('CREATE TABLE IF NOT EXISTS bench_t (id bigserial PRIMARY KEY, v text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');

  const runs: P1Result['runs'] = [];
  let lost = 0;
  try {
    // Warm-up (JIT, plan caches, connections); verified but not timed.
    lost += (await pipelineRun(Math.min(500, opts.pairs), 'queue')).lost;
    lost += (await pipelineRun(Math.min(500, opts.pairs), 'inline')).lost;
    for (let rep = 0; rep < opts.reps; rep++) {
      // Alternate the order so a drift in machine load does not always favour one side.
      let pipe: Awaited<ReturnType<typeof pipelineRun>>;
      let tps: number;
      if (rep % 2 === 0) {
        pipe = await pipelineRun(opts.pairs, 'queue');
        tps = await insertRun();
      } else {
        tps = await insertRun();
        pipe = await pipelineRun(opts.pairs, 'queue');
      }
      const inlinePipe = await pipelineRun(opts.pairs, 'inline');
      lost += pipe.lost + inlinePipe.lost;
      const run = {
        pairs_per_s: pipe.pairsPerS,
        insert_tps: tps,
        ratio: pipe.pairsPerS / tps,
        drain_ms: pipe.drainMs,
        inline_pairs_per_s: inlinePipe.pairsPerS,
      };
      runs.push(run);
      opts.log(
        `P1 rep ${rep + 1}: ${run.pairs_per_s.toFixed(0)} pairs/s (inline create: ${inlinePipe.pairsPerS.toFixed(0)}), ` +
          `${tps.toFixed(0)} inserts/s, ratio ${run.ratio.toFixed(3)} (inline ${(inlinePipe.pairsPerS / tps).toFixed(3)}), ` +
          `lost ${pipe.lost + inlinePipe.lost}`,
      );
    }
  } finally {
    await producer.close();
    await inline.close();
    await producerDb.close();
    await producerBoss.stop({ graceful: true, timeout: 5_000 });
    await listener.stop();
    await check.end();
  }
  return {
    pairs_per_s: median(runs.map((r) => r.pairs_per_s)),
    insert_tps: median(runs.map((r) => r.insert_tps)),
    ratio: median(runs.map((r) => r.ratio)),
    inline: {
      pairs_per_s: median(runs.map((r) => r.inline_pairs_per_s)),
      ratio: median(runs.map((r) => r.inline_pairs_per_s / r.insert_tps)),
    },
    runs,
    clients: opts.clients,
    pairs_per_run: opts.pairs,
    lost,
  };

  /**
   * `clients` concurrent producers, each doing what the gateway does per request: enqueue
   * create-response (awaited: durable before proxying; `inline`: its row written directly,
   * as the gateway does by default), then complete-response. Timed from
   * the first enqueue to the last terminal NOTIFY (sent in the commit that makes a row
   * terminal) or, if later, the last tracking job finished; then every row is checked.
   */
  async function pipelineRun(n: number, mode: 'queue' | 'inline'): Promise<{ pairsPerS: number; drainMs: number; lost: number }> {
    // Every timed segment starts from the same state: the previous one's dead rows vacuumed
    // (else autovacuum runs inside whichever segment comes next).
    await vacuumChurnedTables(check);
    const fixtures: RequestFixture[] = Array.from({ length: n }, () => realtimeRequest());
    const waiting = new Set(fixtures.map((f) => f.create.requestId));
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    onTerminal = (ids) => {
      for (const id of ids) waiting.delete(id);
      if (waiting.size === 0) allDone();
    };
    const completions: Promise<void>[] = [];
    const started = performance.now();
    await forEachConcurrent(n, opts.clients, async (i) => {
      const f = fixtures[i]!;
      await (mode === 'inline' ? inline.record(f.create) : producer.enqueueCreateResponse(f.create));
      // As in the gateway, the next request does not wait for this one's completion to be
      // stored (the client already has its answer); the run ends when every row is terminal.
      completions.push(producer.enqueueCompleteResponse(f.complete));
    });
    await Promise.all(completions);
    const produced = performance.now();
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref());
    const outcome = await Promise.race([done.then(() => queuesDrained(check)), timeout]);
    const finished = performance.now();
    onTerminal = undefined;
    if (outcome === 'timeout') opts.log(`P1: ${waiting.size} of ${n} requests not terminal (or tracking jobs unfinished) after 60 s`);
    const lostHere = await verifyRealtimeRows(check, fixtures);
    return { pairsPerS: (n * 1000) / (finished - started), drainMs: finished - produced, lost: lostHere };
  }

  /** pgbench-style: `clients` connections, each a loop of single-row autocommit INSERTs. */
  async function insertRun(): Promise<number> {
    await vacuumChurnedTables(check);
    const clients = await Promise.all(
      Array.from({ length: opts.clients }, async () => {
        const c = new pg.Client({ connectionString: opts.url, application_name: 'bench-p1-insert' });
        await c.connect();
        return c;
      }),
    );
    let count = 0;
    const started = performance.now();
    const deadline = started + opts.insertSeconds * 1000;
    await Promise.all(
      clients.map(async (c, k) => {
        const text = `bench row from client ${k}`;
        while (performance.now() < deadline) {
          await c.query({ name: 'bench-insert', text: 'INSERT INTO bench_t (v) VALUES ($1)', values: [text] });
          count++;
        }
      }),
    );
    const elapsed = performance.now() - started;
    await Promise.all(clients.map((c) => c.end()));
    return (count * 1000) / elapsed;
  }
}

/**
 * Resolves once neither tracking queue holds an unfinished job. A row is terminal as soon
 * as its complete-response has run, but the pair is done only when its create-response has
 * run too (then a no-op): the segment's clock includes it, and it cannot spill into the next.
 */
async function queuesDrained(db: pg.Pool): Promise<void> {
  for (;;) {
    const { rows } = await db.query<{ busy: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pgboss.job WHERE name = ANY($1) AND state < 'completed') AS busy`,
      [[QUEUES.createResponse, QUEUES.completeResponse]],
    );
    if (!rows[0]!.busy) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Rows that are missing, not terminal, or differ from what the fixture sent. */
export async function verifyRealtimeRows(db: pg.Pool, fixtures: readonly RequestFixture[]): Promise<number> {
  const { rows } = await db.query<{ id: string; state: string; response_status: number; response_body: string; body: string }>(
    `SELECT id, state, response_status, response_body, body FROM requests WHERE id = ANY($1::uuid[])`,
    [fixtures.map((f) => f.create.requestId)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  let lost = 0;
  for (const f of fixtures) {
    const row = byId.get(f.create.requestId);
    const expected = f.complete.statusCode < 400 ? 'completed' : 'failed';
    if (
      !row ||
      row.state !== expected ||
      row.response_status !== f.complete.statusCode ||
      row.response_body !== f.complete.responseBody ||
      row.body !== f.create.body
    ) {
      lost++;
    }
  }
  return lost;
}
