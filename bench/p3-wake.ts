// P3: wake latency of a blocking flex wait, measured in-process with the Poller and its
// LISTEN connection (as the web role runs them): a flex row in `processing` has a waiter; the
// store's completeRequest commits it terminal (its NOTIFY goes out in the same statement);
// we time until waitForTerminal resolves with the response object.
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../src/db/client.ts';
import { createLogger } from '../src/logger.ts';
import { Listener } from '../src/poller/listener.ts';
import { Poller } from '../src/poller/poller.ts';
import { completeRequest } from '../src/store/requests/complete.ts';
import { createSingleRequestBatches, type NewRequest } from '../src/store/requests/create.ts';
import { median, percentile, sleep } from './lib/stats.ts';

export interface P3Options {
  url: string;
  reps: number;
  waits: number;
  log: (line: string) => void;
}

export interface P3Result {
  /** From sending the terminal statement (an upper bound: includes the commit and its fsync). */
  p50_ms: number;
  p99_ms: number;
  /** From the commit's acknowledgement to the client (a lower bound). */
  from_ack: { p50_ms: number; p99_ms: number };
  /** The same with `concurrent` waiters completed by concurrent commits. */
  concurrent: { waiters: number; p50_ms: number; p99_ms: number };
  runs: { p50_ms: number; p99_ms: number; ack_p50_ms: number; ack_p99_ms: number }[];
  method: string;
  lost: number;
}

const silent = createLogger('silent');

function flexRow(id: string): NewRequest {
  return {
    requestId: id,
    batchId: id,
    endpoint: '/v1/responses',
    model: 'dev-model',
    serviceTier: 'flex',
    background: false,
    body: JSON.stringify({ model: 'dev-model', input: `bench ${id}`, service_tier: 'flex' }),
    createdBy: randomUUID(),
    apiKeyId: null,
    state: 'processing',
    completionWindow: '1h',
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

export async function runP3(opts: P3Options): Promise<P3Result> {
  const database = openDatabase(opts.url, { max: 10, applicationName: 'bench-p3' });
  const listener = new Listener({ url: opts.url, logger: silent });
  // The backstop poll is far longer than the measurement, so only NOTIFY can wake a waiter.
  const poller = new Poller({ listener, db: database.db, logger: silent, pollIntervalMs: 60_000 });
  await poller.start();
  const runs: P3Result['runs'] = [];
  const concurrentLatencies: number[][] = [];
  let lost = 0;
  const answerOf = (id: string) => JSON.stringify({ id: `resp_${id}`, object: 'response', status: 'completed', output: [], usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 } });
  try {
    for (let rep = 0; rep <= opts.reps; rep++) {
      const ids = Array.from({ length: opts.waits }, () => randomUUID());
      await createSingleRequestBatches(database.db, ids.map(flexRow));
      const fromSend: number[] = [];
      const fromAck: number[] = [];
      for (const id of ids) {
        const woken = poller.waitForTerminal(id, { timeoutMs: 10_000 }).then((object) => ({ object, at: performance.now() }));
        // Let the waiter's first read (it finds the row still processing) finish.
        await sleep(3);
        const sent = performance.now();
        await completeRequest(database.db, id, 200, answerOf(id));
        const acked = performance.now();
        try {
          const { object, at } = await woken;
          if (object.status !== 'completed' || object.id !== `resp_${id}`) lost++;
          fromSend.push(at - sent);
          fromAck.push(at - acked);
        } catch {
          lost++;
        }
      }
      if (rep === 0) continue; // warm-up
      const run = {
        p50_ms: percentile(fromSend, 50),
        p99_ms: percentile(fromSend, 99),
        ack_p50_ms: percentile(fromAck, 50),
        ack_p99_ms: percentile(fromAck, 99),
      };
      runs.push(run);
      opts.log(`P3 rep ${rep}: wake p50 ${run.p50_ms.toFixed(2)} p99 ${run.p99_ms.toFixed(2)} ms from the statement (from the ack: p50 ${run.ack_p50_ms.toFixed(2)}, p99 ${run.ack_p99_ms.toFixed(2)})`);

      // Many waiters, commits arriving concurrently from 8 connections.
      const waiters = 200;
      const cids = Array.from({ length: waiters }, () => randomUUID());
      await createSingleRequestBatches(database.db, cids.map(flexRow));
      const sentAt = new Map<string, number>();
      const lat: number[] = [];
      const wakes = cids.map((id) =>
        poller.waitForTerminal(id, { timeoutMs: 10_000 }).then(
          (o) => {
            if (o.status !== 'completed') lost++;
            lat.push(performance.now() - sentAt.get(id)!);
          },
          () => {
            lost++;
          },
        ),
      );
      await sleep(20);
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = next++; i < cids.length; i = next++) {
            const id = cids[i]!;
            sentAt.set(id, performance.now());
            await completeRequest(database.db, id, 200, answerOf(id));
          }
        }),
      );
      await Promise.all(wakes);
      concurrentLatencies.push(lat);
    }
  } finally {
    await poller.stop();
    await listener.stop();
    await database.close();
  }
  return {
    p50_ms: median(runs.map((r) => r.p50_ms)),
    p99_ms: median(runs.map((r) => r.p99_ms)),
    from_ack: { p50_ms: median(runs.map((r) => r.ack_p50_ms)), p99_ms: median(runs.map((r) => r.ack_p99_ms)) },
    concurrent: {
      waiters: 200,
      p50_ms: median(concurrentLatencies.map((l) => percentile(l, 50))),
      p99_ms: median(concurrentLatencies.map((l) => percentile(l, 99))),
    },
    runs,
    method:
      'in-process Poller + Listener; a flex row in processing is made terminal by the store (completeRequest, NOTIFY in the same statement); ' +
      'latency from sending that statement to waitForTerminal resolving with the response object',
    lost,
  };
}
