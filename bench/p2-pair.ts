// Two web roles compared on P2's two loads, in one run: chat completions to both, sequentially
// (interleaved call by call with direct upstream calls) and open-loop at 500/s (alternating
// which goes first). Used twice:
// - P2 strict (issue 13): a web role with DURABILITY=strict beside the default (fast) one,
//   same worker and database. strict's answer waits for its completion's commit before its
//   last bytes, so its cost is about one commit per request.
// - P6 growth (issue 15): a web role (and worker) on a database holding millions of rows beside
//   the one on the (near) empty database: the cost of a tracked request must not grow with
//   the table.
import type pg from 'pg';
import { call, chatBody, gatewayTarget, interleaved, openLoop, upstreamTarget } from './lib/load.ts';
import { median, medianQuantiles, minusQuantiles, quantiles, sleep, type Quantiles } from './lib/stats.ts';
import { verifyTracked } from './p2-gateway.ts';

/** One web role: where it listens, a key it accepts, its database (to verify the records). */
export interface Gateway {
  url: string;
  apiKey: string;
  db: pg.Pool;
}

export interface P2PairOptions {
  /** The reference (fast; empty database) and the one measured against it. */
  a: Gateway;
  b: Gateway;
  upstreamUrl: string;
  reps: number;
  calls: number;
  rateMs: number;
  /** Open-loop seconds at 500/s against each before timing (a fresh role is not warm). */
  warmMs: number;
  label: string;
  log: (line: string) => void;
}

interface Run {
  a_added: Quantiles;
  b_added: Quantiles;
  /** b's added latency minus a's, in the same repetition. */
  cost: Quantiles;
  /** Whole-request latency through b over that through a (p50 and p99), same repetition. */
  latency_ratio: { p50: number; p99: number };
}

export interface P2PairMode {
  cost: Quantiles;
  a_added: Quantiles;
  b_added: Quantiles;
  latency_ratio: { p50: number; p99: number };
  runs: Run[];
}

export interface P2PairResult {
  c1: P2PairMode;
  r500: P2PairMode;
  lost: number;
}

export async function runP2Pair(opts: P2PairOptions): Promise<P2PairResult> {
  const gateway = (g: Gateway, connections: number) => gatewayTarget(g.url, g.apiKey, '/v1/chat/completions', connections);
  const upstream = (connections: number) => upstreamTarget(opts.upstreamUrl, connections);
  const seq = { a: gateway(opts.a, 1), b: gateway(opts.b, 1), direct: upstream(1) };
  const load = { a: gateway(opts.a, 256), b: gateway(opts.b, 256), direct: upstream(256) };
  const dbOf = { a: opts.a.db, b: opts.b.db };
  let lost = 0;
  const summarise = (a: number[], b: number[], direct: number[]): Run => {
    const d = quantiles(direct);
    const qa = quantiles(a);
    const qb = quantiles(b);
    const aAdded = minusQuantiles(qa, d);
    const bAdded = minusQuantiles(qb, d);
    return { a_added: aAdded, b_added: bAdded, cost: minusQuantiles(bAdded, aAdded), latency_ratio: { p50: qb.p50_ms / qa.p50_ms, p99: qb.p99_ms / qa.p99_ms } };
  };
  const line = (mode: string, rep: number, run: Run): void =>
    opts.log(
      `${opts.label} ${mode} rep ${rep + 1}: b adds p50 ${run.b_added.p50_ms.toFixed(2)} p99 ${run.b_added.p99_ms.toFixed(2)} ms, ` +
        `a p50 ${run.a_added.p50_ms.toFixed(2)} p99 ${run.a_added.p99_ms.toFixed(2)} ms (b − a: ${run.cost.p50_ms.toFixed(2)} / ${run.cost.p99_ms.toFixed(2)} ms)`,
    );
  try {
    for (const k of ['a', 'b'] as const) {
      const warm = (await openLoop(load[k], 500, opts.warmMs)).samples;
      lost += (await verifyTracked(dbOf[k], warm, 30_000)).lost;
    }

    const c1: Run[] = [];
    for (let rep = 0; rep < opts.reps; rep++) {
      const [a, b, direct] = await interleaved(
        [seq.a, seq.b, seq.direct].map((t) => () => call(t, chatBody(), performance.now())),
        opts.calls,
      );
      lost += (await verifyTracked(dbOf.a, a!, 30_000)).lost + (await verifyTracked(dbOf.b, b!, 30_000)).lost;
      const run = summarise(a!.map((s) => s.latencyMs), b!.map((s) => s.latencyMs), direct!.map((s) => s.latencyMs));
      c1.push(run);
      line('c1', rep, run);
    }

    const r500: Run[] = [];
    for (let rep = 0; rep < opts.reps; rep++) {
      const order = rep % 2 === 0 ? (['direct', 'a', 'b'] as const) : (['b', 'a', 'direct'] as const);
      const samples: Record<string, number[]> = {};
      for (const name of order) {
        const { samples: s } = await openLoop(load[name], 500, opts.rateMs);
        if (name !== 'direct') lost += (await verifyTracked(dbOf[name], s, 30_000)).lost;
        samples[name] = s.map((x) => x.latencyMs);
        await sleep(300);
      }
      const run = summarise(samples.a!, samples.b!, samples.direct!);
      r500.push(run);
      line('r500', rep, run);
    }
    const pack = (runs: Run[]): P2PairMode => ({
      cost: medianQuantiles(runs.map((r) => r.cost)),
      a_added: medianQuantiles(runs.map((r) => r.a_added)),
      b_added: medianQuantiles(runs.map((r) => r.b_added)),
      latency_ratio: { p50: median(runs.map((r) => r.latency_ratio.p50)), p99: median(runs.map((r) => r.latency_ratio.p99)) },
      runs,
    });
    return { c1: pack(c1), r500: pack(r500), lost };
  } finally {
    await Promise.all([...Object.values(seq), ...Object.values(load)].map((t) => t.pool.close()));
  }
}
