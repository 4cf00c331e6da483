// P2s (issue 15): what the gateway adds to the time to first chunk of a streamed chat
// completion, against the development upstream called directly by the same client:
// sequential calls, gateway and direct interleaved (order rotating), each tracked call then
// verified against its row. The first chunk is the first body bytes after the headers: for the
// gateway, the upstream's first event relayed (the gateway parses the stream as it passes,
// for usage and TTFT, but never holds an event back).
import type pg from 'pg';
import { callStream, gatewayTarget, interleaved, upstreamTarget } from './lib/load.ts';
import { medianQuantiles, minusQuantiles, quantiles, type Quantiles } from './lib/stats.ts';
import { verifyTracked } from './p2-gateway.ts';

export interface P2StreamOptions {
  gatewayUrl: string;
  upstreamUrl: string;
  apiKey: string;
  db: pg.Pool;
  reps: number;
  calls: number;
  log: (line: string) => void;
}

export interface P2StreamResult {
  added_first_chunk: Quantiles;
  runs: { added_first_chunk: Quantiles; gateway_first_chunk: Quantiles; direct_first_chunk: Quantiles }[];
  lost: number;
}

const streamBody = (): string =>
  JSON.stringify({ model: 'dev-model', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `bench stream ${Math.random()}` }] });

export async function runP2Stream(opts: P2StreamOptions): Promise<P2StreamResult> {
  const gateway = gatewayTarget(opts.gatewayUrl, opts.apiKey, '/v1/chat/completions', 1);
  const direct = upstreamTarget(opts.upstreamUrl, 1);
  let lost = 0;
  try {
    // Warm-up: the stream paths of both are cold after P2's non-streamed load.
    const [warm] = await interleaved([() => callStream(gateway, streamBody()), () => callStream(direct, streamBody())], 300);
    lost += (await verifyTracked(opts.db, warm!, 30_000, { streamed: true })).lost;
    const runs: P2StreamResult['runs'] = [];
    for (let rep = 0; rep < opts.reps; rep++) {
      const [g, d] = await interleaved([() => callStream(gateway, streamBody()), () => callStream(direct, streamBody())], opts.calls);
      const bad = [...g!, ...d!].filter((s) => s.status !== 200 || !Number.isFinite(s.firstChunkMs)).length;
      if (bad > 0) throw new Error(`P2s: ${bad} streamed calls failed`);
      lost += (await verifyTracked(opts.db, g!, 30_000, { streamed: true })).lost;
      const gq = quantiles(g!.map((s) => s.firstChunkMs));
      const dq = quantiles(d!.map((s) => s.firstChunkMs));
      const added = minusQuantiles(gq, dq);
      runs.push({ added_first_chunk: added, gateway_first_chunk: gq, direct_first_chunk: dq });
      opts.log(`P2s rep ${rep + 1}: first chunk added p50 ${added.p50_ms.toFixed(2)} p99 ${added.p99_ms.toFixed(2)} ms (direct p50 ${dq.p50_ms.toFixed(2)})`);
    }
    return { added_first_chunk: medianQuantiles(runs.map((r) => r.added_first_chunk)), runs, lost };
  } finally {
    await Promise.all([gateway.pool.close(), direct.pool.close()]);
  }
}
