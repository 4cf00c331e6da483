// P6 (issue 15): the hot paths with millions of rows present. P2 runs through bench/p2-pair.ts
// (a web role on the seeded database against one on the empty database, same run); this
// module holds P4 on both databases (repetitions alternating) and retention under load: the
// seeded database's old rows deleted by applyRetention (the sweeper's own function, bounded
// statements and pauses) while P2's 500 requests/s run against its web role, against the same
// load without it, repetitions alternating.
import type pg from 'pg';
import { openDatabase } from '../src/db/client.ts';
import { applyRetention, type Retained } from '../src/jobs/handlers/sweep.ts';
import { chatBody, call, gatewayTarget, openLoop } from './lib/load.ts';
import type { Role } from './lib/processes.ts';
import { median, medianQuantiles, quantiles, sleep, type Quantiles } from './lib/stats.ts';
import { runP4At } from './p4-processor.ts';
import { verifyTracked } from './p2-gateway.ts';

export interface Side {
  url: string;
  pool: pg.Pool;
}

export interface P4GrowthResult {
  empty_req_per_s: number;
  seeded_req_per_s: number;
  /** Median over repetitions of seeded / empty in the same repetition. */
  ratio: number;
  runs: { empty: number; seeded: number }[];
  lost: number;
}

export async function runP4Growth(opts: {
  empty: Side;
  seeded: Side;
  reps: number;
  requests: number;
  maxSeconds: number;
  startFlex(databaseUrl: string): Role;
  log: (line: string) => void;
}): Promise<P4GrowthResult> {
  const runs: P4GrowthResult['runs'] = [];
  let lost = 0;
  for (let rep = 0; rep < opts.reps; rep++) {
    const got: Record<string, number> = {};
    for (const side of rep % 2 === 0 ? (['empty', 'seeded'] as const) : (['seeded', 'empty'] as const)) {
      const r = await runP4At(opts[side].url, opts[side].pool, {
        reps: 1,
        requests: opts.requests,
        maxSeconds: opts.maxSeconds,
        startFlex: () => opts.startFlex(opts[side].url),
        log: (line) => opts.log(`P6 ${side}: ${line}`),
      });
      got[side] = r.req_per_s;
      lost += r.lost;
    }
    runs.push({ empty: got.empty!, seeded: got.seeded! });
  }
  return {
    empty_req_per_s: median(runs.map((r) => r.empty)),
    seeded_req_per_s: median(runs.map((r) => r.seeded)),
    ratio: median(runs.map((r) => r.seeded / r.empty)),
    runs,
    lost,
  };
}

export interface RetentionResult {
  retention_days: number;
  without: Quantiles;
  with: Quantiles;
  /** Median over repetitions of the gateway's p99 with retention running over that without. */
  p99_ratio: number;
  deleted_rows: number;
  deleted_per_s: number;
  /** Minute rows of the usage rollups retention deleted alongside (hour and day rows stay). */
  deleted_minute_rollups: number;
  runs: { without: Quantiles; with: Quantiles; deleted: number; minute_rollups_deleted: number }[];
  lost: number;
}

export async function runRetentionUnderLoad(opts: {
  gateway: { url: string; apiKey: string; db: pg.Pool; databaseUrl: string };
  reps: number;
  rateMs: number;
  retentionDays: number;
  log: (line: string) => void;
}): Promise<RetentionResult> {
  const target = gatewayTarget(opts.gateway.url, opts.gateway.apiKey, '/v1/chat/completions', 256);
  const db = openDatabase(opts.gateway.databaseUrl, { max: 1, applicationName: 'bench-retention' });
  const runs: RetentionResult['runs'] = [];
  let lost = 0;
  let deletedRows = 0;
  let deletedMinuteRollups = 0;
  let deletingMs = 0;
  try {
    // Warm-up: the web role on the seeded database has served little so far.
    for (let i = 0; i < 20; i++) await call(target, chatBody(), performance.now());
    lost += (await verifyTracked(opts.gateway.db, (await openLoop(target, 500, 3_000)).samples, 30_000)).lost;
    for (let rep = 0; rep < opts.reps; rep++) {
      const got: Partial<Record<'with' | 'without', Quantiles>> = {};
      let deleted: Retained = { requests: 0, minuteRollups: 0 };
      for (const mode of rep % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
        let retention: Promise<Retained> | undefined;
        const t = performance.now();
        // The sweep starts with the load and is given the load's length as its budget.
        if (mode === 'with') retention = applyRetention(db.db, { retentionDays: opts.retentionDays, budgetMs: opts.rateMs });
        const { samples } = await openLoop(target, 500, opts.rateMs);
        if (retention) {
          deleted = await retention;
          deletingMs += performance.now() - t;
        }
        lost += (await verifyTracked(opts.gateway.db, samples, 30_000)).lost;
        got[mode] = quantiles(samples.map((s) => s.latencyMs));
        await sleep(300);
      }
      deletedRows += deleted.requests;
      deletedMinuteRollups += deleted.minuteRollups;
      runs.push({ without: got.without!, with: got.with!, deleted: deleted.requests, minute_rollups_deleted: deleted.minuteRollups });
      opts.log(
        `retention rep ${rep + 1}: p99 ${got.with!.p99_ms.toFixed(2)} ms with, ${got.without!.p99_ms.toFixed(2)} ms without; ` +
          `${deleted.requests} rows and ${deleted.minuteRollups} minute rollups deleted`,
      );
    }
  } finally {
    await target.pool.close();
    await db.close();
  }
  return {
    retention_days: opts.retentionDays,
    without: medianQuantiles(runs.map((r) => r.without)),
    with: medianQuantiles(runs.map((r) => r.with)),
    p99_ratio: median(runs.map((r) => r.with.p99_ms / r.without.p99_ms)),
    deleted_rows: deletedRows,
    deleted_minute_rollups: deletedMinuteRollups,
    deleted_per_s: deletingMs > 0 ? (deletedRows * 1000) / deletingMs : 0,
    runs,
    lost,
  };
}
