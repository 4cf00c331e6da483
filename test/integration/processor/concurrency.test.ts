import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBoss } from '../../../src/jobs/boss.ts';
import type { RequestProcessor } from '../../../src/jobs/request-processor.ts';
import { Listener } from '../../../src/poller/listener.ts';
import { log, row, startHarness, startTestProcessor, submit, waitForState, type Harness } from './harness.ts';

// Two processors, each with its own pg-boss, LISTEN connection and ten fetch loops, racing
// for one model's jobs. pg-boss's group count alone over-admits under this race (measured:
// 5–7 concurrent calls for a limit of 2); the claim's admission check must hold it exactly.
let h: Harness;
const stops: (() => Promise<void>)[] = [];
const processors: RequestProcessor[] = [];

beforeAll(async () => {
  h = await startHarness({ processor: false });
  for (let i = 0; i < 2; i++) {
    const boss = await startBoss({ url: h.t.url, logger: log, max: 12, supervise: false, schedule: false, listener: h.listener });
    const listener = new Listener({ url: h.t.url, logger: log });
    await listener.start();
    const processor = await startTestProcessor(
      { ...h, boss, listener },
      { backoff: { baseMs: 100, maxMs: 500 }, localConcurrency: 10 },
      { concurrency: 8, models: { 'm-two': 2, 'm-one': 1 } },
    );
    processors.push(processor);
    stops.push(async () => {
      await boss.stop({ graceful: false, timeout: 1_000 });
      await processor.stop();
      await listener.stop();
    });
  }
});
afterAll(async () => {
  for (const stop of stops) await stop();
  await h?.close();
});

describe('per-model concurrency across processes', () => {
  it.each([
    ['m-two', 2, 24],
    ['m-one', 1, 8],
  ])('%s: never more than %i calls in flight at the upstream', async (model, limit, count) => {
    h.upstream.script(model, [{ kind: 'respond', delayMs: 80 }]);
    const ids = await Promise.all(Array.from({ length: count }, () => submit(h, { model })));
    for (const id of ids) await waitForState(h.t, id, ['completed', 'failed'], 30_000);
    for (const id of ids) expect((await row(h.t, id)).state).toBe('completed');
    expect(h.upstream.callsFor(model)).toHaveLength(count);
    expect(h.upstream.maxConcurrent(model)).toBe(limit);
  });

  it('lets other models run beside a model at its limit', async () => {
    h.upstream.script('m-two', [{ kind: 'respond', delayMs: 300 }]);
    h.upstream.script('m-wide', [{ kind: 'respond', delayMs: 300 }]);
    const ids = await Promise.all([
      ...Array.from({ length: 6 }, () => submit(h, { model: 'm-two' })),
      ...Array.from({ length: 6 }, () => submit(h, { model: 'm-wide' })),
    ]);
    for (const id of ids) await waitForState(h.t, id, ['completed', 'failed'], 30_000);
    expect(h.upstream.maxConcurrent('m-wide')).toBeGreaterThan(2);
    expect(h.upstream.maxConcurrent('m-wide')).toBeLessThanOrEqual(8);
  });
});
