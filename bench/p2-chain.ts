// P2 chain (issue 14): what resolving a 50-turn `previous_response_id` chain adds to a
// realtime /v1/responses call. One chain of 50 turns is built first; then, sequentially and
// interleaved, a first turn (no previous_response_id) and a 51st turn continuing the 50th
// (volley reads the chain in one recursive query and sends its 100 earlier items upstream).
// The figure is the difference of their latencies, both through the same gateway.
import type pg from 'pg';
import { call, gatewayTarget, interleaved, type Sample } from './lib/load.ts';
import { medianQuantiles, minusQuantiles, quantiles, type Quantiles } from './lib/stats.ts';
import { verifyTracked } from './p2-gateway.ts';

export interface P2ChainOptions {
  gatewayUrl: string;
  apiKey: string;
  db: pg.Pool;
  reps: number;
  turns: number;
  calls: number;
  log: (line: string) => void;
}

export interface P2ChainResult {
  turns: number;
  added: Quantiles;
  runs: { added: Quantiles; first: Quantiles; chained: Quantiles }[];
  lost: number;
}

export async function runP2Chain(opts: P2ChainOptions): Promise<P2ChainResult> {
  const target = gatewayTarget(opts.gatewayUrl, opts.apiKey, '/v1/responses', 1);
  const body = (previous?: string) =>
    JSON.stringify({ model: 'dev-model', input: `turn ${Math.random()}`, ...(previous ? { previous_response_id: previous } : {}) });
  let lost = 0;
  try {
    let last: string | undefined;
    for (let i = 0; i < opts.turns; i++) {
      const s = await call(target, body(last), performance.now());
      if (s.status !== 200 || !s.responseId) throw new Error(`building the chain: turn ${i + 1} answered ${s.status} ${s.received.slice(0, 200)}`);
      last = s.responseId;
    }
    const runs: P2ChainResult['runs'] = [];
    for (let rep = 0; rep < opts.reps; rep++) {
      const [first, chained] = await interleaved(
        [() => call(target, body(), performance.now()), () => call(target, body(last), performance.now())],
        opts.calls,
      );
      const bad = [...first!, ...chained!].filter((s: Sample) => s.status !== 200).length;
      if (bad > 0) throw new Error(`P2 chain: ${bad} calls did not answer 200`);
      lost += (await verifyTracked(opts.db, [...first!, ...chained!], 30_000)).lost;
      const f = quantiles(first!.map((s) => s.latencyMs));
      const c = quantiles(chained!.map((s) => s.latencyMs));
      const added = minusQuantiles(c, f);
      runs.push({ added, first: f, chained: c });
      opts.log(`P2 chain rep ${rep + 1}: ${opts.turns}-turn chain adds p50 ${added.p50_ms.toFixed(2)} p99 ${added.p99_ms.toFixed(2)} ms (first turn p50 ${f.p50_ms.toFixed(2)})`);
    }
    return { turns: opts.turns, added: medianQuantiles(runs.map((r) => r.added)), runs, lost };
  } finally {
    await target.pool.close();
  }
}
