// P2 strict (issue 13): what DURABILITY=strict costs over the fast default. A second web role
// with DURABILITY=strict runs beside the default one (same worker, same database); chat
// completions go to both, sequentially (interleaved with direct upstream calls) and open-loop
// at 500/s (alternating which goes first). strict's answer waits for its completion's commit
// before its last bytes, so the cost is about one commit per request.
import type pg from 'pg';
import { call, chatBody, interleaved, keepAlivePool, openLoop, type Target } from './lib/load.ts';
import { medianQuantiles, quantiles, sleep, type Quantiles } from './lib/stats.ts';
import { verifyTracked } from './p2-gateway.ts';

export interface P2StrictOptions {
  fastUrl: string;
  strictUrl: string;
  upstreamUrl: string;
  apiKey: string;
  db: pg.Pool;
  reps: number;
  calls: number;
  rateMs: number;
  log: (line: string) => void;
}

interface Run {
  fast_added: Quantiles;
  strict_added: Quantiles;
  /** strict's added latency minus fast's, in the same repetition. */
  cost: Quantiles;
}

export interface P2StrictResult {
  c1: { cost: Quantiles; strict_added: Quantiles; runs: Run[] };
  r500: { cost: Quantiles; strict_added: Quantiles; runs: Run[] };
  lost: number;
}

const minus = (a: Quantiles, b: Quantiles): Quantiles => ({
  p50_ms: a.p50_ms - b.p50_ms,
  p95_ms: a.p95_ms - b.p95_ms,
  p99_ms: a.p99_ms - b.p99_ms,
});

export async function runP2Strict(opts: P2StrictOptions): Promise<P2StrictResult> {
  const gateway = (url: string, connections: number): Target => ({
    name: url,
    pool: keepAlivePool(url, connections),
    path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' },
  });
  const upstream = (connections: number): Target => ({
    name: 'upstream',
    pool: keepAlivePool(new URL(opts.upstreamUrl).origin, connections),
    path: `${new URL(opts.upstreamUrl).pathname.replace(/\/$/, '')}/chat/completions`,
    headers: { 'content-type': 'application/json' },
  });
  const seq = { fast: gateway(opts.fastUrl, 1), strict: gateway(opts.strictUrl, 1), direct: upstream(1) };
  const load = { fast: gateway(opts.fastUrl, 256), strict: gateway(opts.strictUrl, 256), direct: upstream(256) };
  let lost = 0;
  const summarise = (fast: number[], strict: number[], direct: number[]): Run => {
    const d = quantiles(direct);
    const fastAdded = minus(quantiles(fast), d);
    const strictAdded = minus(quantiles(strict), d);
    return { fast_added: fastAdded, strict_added: strictAdded, cost: minus(strictAdded, fastAdded) };
  };
  try {
    // Warm-up of the strict role (the default one is warm from P2).
    const warm = (await openLoop(load.strict, 500, 3_000)).samples;
    lost += (await verifyTracked(opts.db, warm, 30_000)).lost;

    const c1: Run[] = [];
    for (let rep = 0; rep < opts.reps; rep++) {
      const [fast, strict, direct] = await interleaved(
        [seq.fast, seq.strict, seq.direct].map((t) => () => call(t, chatBody(), performance.now())),
        opts.calls,
      );
      lost += (await verifyTracked(opts.db, [...fast!, ...strict!], 30_000)).lost;
      const run = summarise(fast!.map((s) => s.latencyMs), strict!.map((s) => s.latencyMs), direct!.map((s) => s.latencyMs));
      c1.push(run);
      opts.log(`P2 strict c1 rep ${rep + 1}: strict adds p50 ${run.strict_added.p50_ms.toFixed(2)} p99 ${run.strict_added.p99_ms.toFixed(2)} ms, ${run.cost.p50_ms.toFixed(2)} / ${run.cost.p99_ms.toFixed(2)} ms more than fast`);
    }

    const r500: Run[] = [];
    for (let rep = 0; rep < opts.reps; rep++) {
      const order = rep % 2 === 0 ? (['direct', 'fast', 'strict'] as const) : (['strict', 'fast', 'direct'] as const);
      const samples: Record<string, number[]> = {};
      for (const name of order) {
        const { samples: s } = await openLoop(load[name], 500, opts.rateMs);
        if (name !== 'direct') lost += (await verifyTracked(opts.db, s, 30_000)).lost;
        samples[name] = s.map((x) => x.latencyMs);
        await sleep(300);
      }
      const run = summarise(samples.fast!, samples.strict!, samples.direct!);
      r500.push(run);
      opts.log(`P2 strict r500 rep ${rep + 1}: strict adds p50 ${run.strict_added.p50_ms.toFixed(2)} p99 ${run.strict_added.p99_ms.toFixed(2)} ms, ${run.cost.p50_ms.toFixed(2)} / ${run.cost.p99_ms.toFixed(2)} ms more than fast`);
    }
    const pack = (runs: Run[]) => ({
      cost: medianQuantiles(runs.map((r) => r.cost)),
      strict_added: medianQuantiles(runs.map((r) => r.strict_added)),
      runs,
    });
    return { c1: pack(c1), r500: pack(r500), lost };
  } finally {
    await Promise.all([...Object.values(seq), ...Object.values(load)].map((t) => t.pool.close()));
  }
}
