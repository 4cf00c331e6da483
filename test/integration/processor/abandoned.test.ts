// Background and flex rows whose process-request job is gone (dead-lettered, lost) end as
// `failed` with `Expired` once their deadline is well past, instead of staying live forever.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABANDONED_AFTER_MS, sweepAbandonedBackgroundRequests } from '../../../src/jobs/handlers/sweep.ts';
import { parseFailureReason } from '../../../src/responses/failure-reason.ts';
import { createSingleRequestBatch } from '../../../src/store/requests/create.ts';
import { findRequestDetail } from '../../../src/store/requests/find.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const HOUR = 3_600_000;

/** A background row due at `expiresAgoMs` in the past, optionally held by a claim `claimedAgoMs` old. */
async function backgroundRow(opts: { expiresAgoMs: number; claimedAgoMs?: number; error?: string; realtime?: boolean }) {
  const id = randomUUID();
  await createSingleRequestBatch(t.db, {
    requestId: id,
    batchId: id,
    endpoint: '/v1/responses',
    model: 'm',
    serviceTier: 'flex',
    background: !opts.realtime,
    body: '{"model":"m","input":"x"}',
    createdBy: randomUUID(),
    apiKeyId: null,
    state: opts.realtime ? 'processing' : 'pending',
    completionWindow: opts.realtime ? '0s' : '1h',
    expiresAt: opts.realtime ? null : new Date(Date.now() - opts.expiresAgoMs),
  });
  if (opts.claimedAgoMs !== undefined) {
    await t.pool.query(
      `UPDATE requests SET state = 'processing', claimed_at = now() - make_interval(secs => $2), started_at = claimed_at WHERE id = $1`,
      [id, opts.claimedAgoMs / 1_000],
    );
  }
  if (opts.error) await t.pool.query(`UPDATE requests SET error = $2 WHERE id = $1`, [id, opts.error]);
  return id;
}

describe('abandoned background requests', () => {
  it('fail with Expired (and the last failure) once well past their deadline, and only those', async () => {
    const last = '{"type":"RetriableHttpStatus","details":{"status":503,"body":"busy"}}';
    const abandonedPending = await backgroundRow({ expiresAgoMs: ABANDONED_AFTER_MS + HOUR, error: last });
    const abandonedClaim = await backgroundRow({ expiresAgoMs: ABANDONED_AFTER_MS + HOUR, claimedAgoMs: 2 * HOUR });
    const recentlyDue = await backgroundRow({ expiresAgoMs: 10 * 60_000 });
    const liveClaim = await backgroundRow({ expiresAgoMs: ABANDONED_AFTER_MS + HOUR, claimedAgoMs: 60_000 });
    const notDue = await backgroundRow({ expiresAgoMs: -HOUR });
    const realtime = await backgroundRow({ expiresAgoMs: 0, realtime: true });

    const swept = await sweepAbandonedBackgroundRequests(t.db);
    expect(swept.sort()).toEqual([abandonedPending, abandonedClaim].sort());

    const pending = await findRequestDetail(t.db, abandonedPending);
    expect(pending).toMatchObject({ state: 'failed' });
    expect(pending?.failedAt).not.toBeNull();
    expect(parseFailureReason(pending!.error!)).toEqual({
      type: 'Expired',
      details: { expires_at: pending!.expiresAt!.toISOString(), last: JSON.parse(last) },
    });
    const claimed = await findRequestDetail(t.db, abandonedClaim);
    expect(parseFailureReason(claimed!.error!)).toEqual({
      type: 'Expired',
      details: { expires_at: claimed!.expiresAt!.toISOString() },
    });
    for (const [id, state] of [
      [recentlyDue, 'pending'],
      [liveClaim, 'processing'],
      [notDue, 'pending'],
      [realtime, 'processing'],
    ] as const) {
      expect((await findRequestDetail(t.db, id))?.state).toBe(state);
    }
    // Terminal rows never change: a second sweep finds nothing.
    expect(await sweepAbandonedBackgroundRequests(t.db)).toEqual([]);
  });
});
