// A late record is never thrown away (DESIGN 13): a realtime row the sweeper failed as
// TrackingLost becomes what its complete-response says; a row a live gateway still holds is
// not swept; the sweep threshold cannot be set below complete-response's own retries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { HeldRequests } from '../../../src/gateway/held-requests.ts';
import { InlineCreateResponse } from '../../../src/gateway/recording.ts';
import { trackingQueuePolicy, trackingRetryHorizonMs } from '../../../src/jobs/definitions.ts';
import { sweepStaleRealtimeRequests } from '../../../src/jobs/handlers/sweep.ts';
import { heldRequests } from '../../../src/metrics.ts';
import { completeResponsesIdempotent, type RealtimeCompletion } from '../../../src/store/requests/complete.ts';
import { findRequestDetail } from '../../../src/store/requests/find.ts';
import { startTestGateway } from '../../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { realtimeRequest, type RequestFixture } from '../../helpers/factories.ts';
import { waitFor } from '../../helpers/wait.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const HOUR = 60 * 60_000;
const completion = (r: RequestFixture): RealtimeCompletion => ({
  ...r.complete,
  createdBy: r.complete.createdBy!,
  startedAt: new Date(r.complete.startedAt),
  finishedAt: new Date(r.complete.finishedAt),
});

async function staleRow(r: RequestFixture): Promise<void> {
  await new InlineCreateResponse(t.db).record(r.create);
  await t.pool.query(`UPDATE requests SET started_at = now() - interval '2 hours', updated_at = now() - interval '2 hours' WHERE id = $1`, [
    r.create.requestId,
  ]);
}

describe('late records', () => {
  it('complete-response turns a swept TrackingLost row into what really happened', async () => {
    const r = realtimeRequest();
    await staleRow(r);
    expect(await sweepStaleRealtimeRequests(t.db, { staleAfterMs: HOUR })).toContain(r.create.requestId);
    expect((await findRequestDetail(t.db, r.create.requestId))?.error).toBe('{"type":"TrackingLost"}');
    const outcome = await completeResponsesIdempotent(t.db, [completion(r)]);
    expect(outcome.get(r.create.requestId)).toBe('changed');
    const row = await findRequestDetail(t.db, r.create.requestId);
    expect(row).toMatchObject({ state: 'completed', error: null, failedAt: null, responseBody: r.complete.responseBody, totalTokens: 12 });
  });

  it('leaves every other terminal row as it is', async () => {
    const r = realtimeRequest({ status: 500 });
    await completeResponsesIdempotent(t.db, [completion(r)]);
    const again = await completeResponsesIdempotent(t.db, [{ ...completion(r), statusCode: 200, responseBody: '{"late":true}' }]);
    expect(again.get(r.create.requestId)).toBe('already-terminal');
    expect(await findRequestDetail(t.db, r.create.requestId)).toMatchObject({ state: 'failed', responseStatus: 500 });
  });
});

describe('rows a live gateway holds', () => {
  it('are touched, so a sweep leaves a long-running request alone', async () => {
    const held = realtimeRequest();
    const lost = realtimeRequest();
    await staleRow(held);
    await staleRow(lost);
    const holder = new HeldRequests();
    holder.hold(held.create.requestId);
    await holder.touch(t.db);
    const swept = await sweepStaleRealtimeRequests(t.db, { staleAfterMs: HOUR });
    expect(swept).toContain(lost.create.requestId);
    expect(swept).not.toContain(held.create.requestId);
    expect((await findRequestDetail(t.db, held.create.requestId))?.state).toBe('processing');
  });

  it('are held by the gateway from the record until the completion is stored', async () => {
    const gw = await startTestGateway();
    try {
      const key = await gw.createKey();
      const count = async () => (await heldRequests.get()).values[0]?.value ?? 0;
      const pending = gw.client(key.key).chat.completions.create({ model: 'dev-slow-1000', messages: [{ role: 'user', content: 'hold me' }] });
      await waitFor(async () => ((await count()) === 1 ? true : undefined), { what: 'the request to be held' });
      await pending;
      await waitFor(async () => ((await count()) === 0 ? true : undefined), { what: 'the request to be released' });
    } finally {
      await gw.close();
    }
  });
});

describe('the sweep threshold', () => {
  it.each(['0s', '30s', '59s'])('refuses REALTIME_STALE_AFTER=%s, below complete-response retries', (value) => {
    expect(() => loadConfig({ REALTIME_STALE_AFTER: value })).toThrow(/REALTIME_STALE_AFTER: must be at least 1m/);
  });

  it.each([60_000, 5 * 60_000, 15 * 60_000, 24 * HOUR])('fits complete-response retries inside half of %i ms', (staleAfterMs) => {
    const policy = trackingQueuePolicy(staleAfterMs);
    expect(policy.retryLimit).toBeGreaterThanOrEqual(3);
    expect(trackingRetryHorizonMs(policy)).toBeLessThanOrEqual(staleAfterMs / 2);
  });
});
