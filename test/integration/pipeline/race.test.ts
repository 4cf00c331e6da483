import { randomUUID } from 'node:crypto';
import { waitFor } from '../../helpers/wait.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompleteResponsePayload, CreateResponsePayload } from '../../../src/jobs/definitions.ts';
import { completeResponseHandler } from '../../../src/jobs/handlers/complete-response.ts';
import { createResponseHandler } from '../../../src/jobs/handlers/create-response.ts';
import type { ValidJob } from '../../../src/jobs/run.ts';
import { findRequestDetail } from '../../../src/store/requests/find.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { realtimeRequest } from '../../helpers/factories.ts';
import { silentLogger } from '../../helpers/pipeline.ts';

let t: TestDatabase;
let create: (payloads: CreateResponsePayload[]) => Promise<unknown>;
let complete: (payloads: CompleteResponsePayload[]) => Promise<unknown>;

/** A delivery of jobs as pg-boss would hand them over; each call is one attempt. */
function asJobs<T>(payloads: T[]): ValidJob<T>[] {
  return payloads.map((data) => ({ id: randomUUID(), retryCount: 0, signal: new AbortController().signal, data }));
}

beforeAll(async () => {
  t = await createTestDatabase();
  const onCreate = createResponseHandler(t.db);
  const onComplete = completeResponseHandler(t.db);
  create = (p) => onCreate(asJobs(p), silentLogger);
  complete = (p) => onComplete(asJobs(p), silentLogger);
});
afterAll(async () => {
  await t.drop();
});

async function row(id: string) {
  return findRequestDetail(t.db, id);
}

describe('create-response and complete-response race', () => {
  it('create then complete ends completed with the upstream body and usage', async () => {
    const r = realtimeRequest();
    await create([r.create]);
    expect((await row(r.create.requestId))?.state).toBe('processing');
    await complete([r.complete]);
    const final = await row(r.create.requestId);
    expect(final).toMatchObject({
      state: 'completed',
      responseStatus: 200,
      responseBody: r.complete.responseBody,
      body: r.create.body,
      promptTokens: 7,
      completionTokens: 5,
      totalTokens: 12,
      completionWindow: '0s',
    });
    expect(final?.completedAt?.toISOString()).toBe(r.complete.finishedAt);
  });

  it('complete then create ends as the same completed row', async () => {
    const r = realtimeRequest();
    await complete([r.complete]);
    await create([r.create]);
    expect(await row(r.create.requestId)).toMatchObject({
      state: 'completed',
      responseStatus: 200,
      responseBody: r.complete.responseBody,
      body: r.create.body,
      totalTokens: 12,
    });
  });

  it.each([
    ['create first', true],
    ['complete first', false],
  ])('an upstream status >= 400 ends failed with status and body kept (%s)', async (_name, createFirst) => {
    const r = realtimeRequest({ status: 503 });
    if (createFirst) await create([r.create]);
    await complete([r.complete]);
    if (!createFirst) await create([r.create]);
    const final = await row(r.create.requestId);
    expect(final).toMatchObject({ state: 'failed', responseStatus: 503, responseBody: r.complete.responseBody });
    expect(JSON.parse(final!.error!)).toEqual({
      type: 'NonRetriableHttpStatus',
      details: { status: 503, body: r.complete.responseBody },
    });
    expect(final?.failedAt?.toISOString()).toBe(r.complete.finishedAt);
  });

  it('create-response arriving after complete-response never downgrades the row', async () => {
    const r = realtimeRequest();
    await complete([r.complete]);
    const before = await row(r.create.requestId);
    await create([r.create]);
    await create([r.create]);
    const after = await row(r.create.requestId);
    expect(after?.state).toBe('completed');
    expect(after?.updatedAt).toEqual(before?.updatedAt);
    expect(after?.responseBody).toBe(r.complete.responseBody);
  });

  it('both jobs racing concurrently end as one row in the right state, many times over', async () => {
    const fixtures = Array.from({ length: 100 }, (_, i) => realtimeRequest({ status: i % 5 === 0 ? 429 : 200 }));
    await Promise.all(fixtures.flatMap((r) => [create([r.create]), complete([r.complete])]));
    for (const r of fixtures) {
      const final = await row(r.create.requestId);
      expect(final?.state).toBe(r.complete.statusCode < 400 ? 'completed' : 'failed');
      expect(final?.responseBody).toBe(r.complete.responseBody);
      expect(final?.body).toBe(r.create.body);
    }
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM requests WHERE id = ANY($1::uuid[])`, [
      fixtures.map((r) => r.create.requestId),
    ]);
    expect(rows[0].n).toBe(100);
  });
});

describe('duplicate and stale attempts', () => {
  it('each job delivered three times concurrently gives the same final row', async () => {
    const fixtures = Array.from({ length: 30 }, (_, i) => realtimeRequest({ status: i % 3 === 0 ? 400 : 200 }));
    await Promise.all(
      fixtures.flatMap((r) => [
        create([r.create]),
        create([r.create]),
        create([r.create]),
        complete([r.complete]),
        complete([r.complete]),
        complete([r.complete]),
      ]),
    );
    for (const r of fixtures) {
      const final = await row(r.create.requestId);
      expect(final).toMatchObject({
        state: r.complete.statusCode < 400 ? 'completed' : 'failed',
        responseStatus: r.complete.statusCode,
        responseBody: r.complete.responseBody,
      });
    }
  });

  it('a duplicate inside one fetched batch is written once', async () => {
    const r = realtimeRequest();
    await create([r.create, r.create]);
    await complete([r.complete, r.complete]);
    expect((await row(r.create.requestId))?.state).toBe('completed');
  });

  it('a stale complete-response attempt that commits after a newer attempt changes nothing', async () => {
    const r = realtimeRequest();
    await create([r.create]);
    // Attempt 1 fetched the job and stalled (it read its payload, then nothing for a while)…
    const stalledAttempt = { ...r.complete };
    // …attempt 2 ran to the end…
    await complete([r.complete]);
    const afterAttempt2 = await row(r.create.requestId);
    // …then attempt 1 wakes up and commits.
    await complete([stalledAttempt]);
    const final = await row(r.create.requestId);
    expect(final).toEqual(afterAttempt2);
  });

  it('a stale create-response attempt that commits after the row became terminal changes nothing', async () => {
    const r = realtimeRequest();
    await create([r.create]);
    await complete([r.complete]);
    const terminal = await row(r.create.requestId);
    await create([r.create]);
    expect(await row(r.create.requestId)).toEqual(terminal);
  });

  it('a stale attempt blocked on the row lock while the newer attempt commits changes nothing', async () => {
    const r = realtimeRequest();
    await create([r.create]);
    // Attempt 2 holds the row in an open transaction; attempt 1 starts and has to wait.
    const client = await t.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`UPDATE requests SET updated_at = now() WHERE id = $1`, [r.create.requestId]);
      const stale = complete([{ ...r.complete, responseBody: r.complete.responseBody }]);
      // The stale attempt is waiting on the row lock (not merely not yet started).
      await waitFor(async () => {
        const { rows } = await t.pool.query(
          // Any lock wait in this test's own database is the stale attempt's (its statement text is
          // longer than track_activity_query_size, so the INSERT is cut off the shown query).
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return rows.length > 0 ? true : undefined;
      }, { what: 'the stale attempt to wait on the row lock' });
      await client.query(
        // A terminal state no complete-response may overwrite (TrackingLost is the one it may).
        `UPDATE requests SET state = 'failed', error = '{"type":"NetworkError","details":{"error":"newer"}}', failed_at = now() WHERE id = $1`,
        [r.create.requestId],
      );
      await client.query('COMMIT');
      await stale;
    } finally {
      client.release();
    }
    // The row was terminal when the stale attempt got the lock: its guard skipped it.
    expect(await row(r.create.requestId)).toMatchObject({ state: 'failed', error: '{"type":"NetworkError","details":{"error":"newer"}}' });
  });

  it('rows without an owner are not tracked', async () => {
    const r = realtimeRequest();
    await create([{ ...r.create, createdBy: null }]);
    await complete([{ ...r.complete, createdBy: null }]);
    expect(await row(r.create.requestId)).toBeUndefined();
  });
});
