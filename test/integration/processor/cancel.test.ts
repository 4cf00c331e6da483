import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRequestJobId } from '../../../src/db/pgboss.ts';

import { CANCEL_CHANNEL, TERMINAL_CHANNEL } from '../../../src/db/channels.ts';
import { cancelRequest } from '../../../src/store/requests/cancel.ts';
import { claimRequestAttempt } from '../../../src/store/requests/attempt-claims.ts';
import { completeRequestAttempt } from '../../../src/store/requests/attempt-outcomes.ts';
import { row, startHarness, startTestProcessor, submit, waitFor, waitForState, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function jobState(harness: Harness, id: string): Promise<string | undefined> {
  const result = await harness.t.db.execute<{ state: string }>(
    sql`SELECT state FROM pgboss.job WHERE name = 'process-request' AND id = ${id}`,
  );
  return result.rows[0]?.state;
}

describe('cancelRequest', () => {
  it('cancels a request in flight: the upstream sees the connection closed within a second', async () => {
    h.upstream.script('m-cancel-flight', [{ kind: 'hang' }]);
    const id = await submit(h, { model: 'm-cancel-flight' });
    await waitFor(() => h.upstream.callsFor(id), (c) => c.length === 1, { what: 'the upstream call' });
    expect((await row(h.t, id)).state).toBe('processing');

    const canceledAt = Date.now();
    const result = await cancelRequest(h.t.db, id);
    expect(result.kind).toBe('canceled');
    expect((await row(h.t, id)).state).toBe('canceled');

    const [call] = await waitFor(() => h.upstream.callsFor(id), (c) => c[0]?.outcome !== undefined, { timeoutMs: 2_000 });
    expect(call!.outcome).toBe('client-closed');
    expect(call!.endedAt! - canceledAt).toBeLessThan(1_000);
    // The job settles without writing or retrying.
    await waitFor(() => jobState(h, processRequestJobId(id, 0)), (s) => s === 'completed', { what: 'job completed' });
    const final = await row(h.t, id);
    expect(final.state).toBe('canceled');
    expect(final.canceledAt).not.toBeNull();
    expect(final.responseBody).toBeNull();
    expect(h.upstream.callsFor(id)).toHaveLength(1);
  });

  it('is harmless twice, and leaves a terminal row as it is', async () => {
    h.upstream.script('m-cancel-twice', [{ kind: 'hang' }]);
    const id = await submit(h, { model: 'm-cancel-twice' });
    const first = await cancelRequest(h.t.db, id);
    expect(first.kind).toBe('canceled');
    const second = await cancelRequest(h.t.db, id);
    expect(second).toMatchObject({ kind: 'already-terminal', state: 'canceled' });

    const done = await submit(h, { model: 'm-ok-then-cancel' });
    await waitForState(h.t, done, ['completed']);
    const late = await cancelRequest(h.t.db, done);
    expect(late).toMatchObject({ kind: 'already-terminal', state: 'completed' });
    expect((await row(h.t, done)).state).toBe('completed');

    expect(await cancelRequest(h.t.db, crypto.randomUUID())).toEqual({ kind: 'missing' });
  });

  it('announces the cancel on the terminal and cancel channels, in the cancelling statement', async () => {
    const seen: string[] = [];
    const offTerminal = await h.listener.subscribe(TERMINAL_CHANNEL, (p) => seen.push(`terminal:${p}`));
    const offCancel = await h.listener.subscribe(CANCEL_CHANNEL, (p) => seen.push(`cancel:${p}`));
    try {
      h.upstream.script('m-cancel-notify', [{ kind: 'hang' }]);
      const id = await submit(h, { model: 'm-cancel-notify' });
      await cancelRequest(h.t.db, id);
      await waitFor(() => seen, (s) => s.includes(`terminal:${id}`) && s.includes(`cancel:${id}`), { timeoutMs: 2_000 });
      await cancelRequest(h.t.db, id);
      // Notifications reach a listener in commit order: once markers sent after the second
      // cancel committed have arrived, anything that cancel announced has arrived too.
      await h.t.pool.query(`SELECT pg_notify($1, 'marker'), pg_notify($2, 'marker')`, [TERMINAL_CHANNEL, CANCEL_CHANNEL]);
      await waitFor(() => seen, (s) => s.includes('terminal:marker') && s.includes('cancel:marker'), { what: 'the markers' });
      expect(seen.filter((s) => s.endsWith(id))).toHaveLength(2);
    } finally {
      offTerminal();
      offCancel();
    }
  });

  it('a late upstream answer cannot overwrite canceled', async () => {
    const quiet = await startHarness({ processor: false });
    try {
      const id = await submit(quiet, { model: 'm-late' });
      const [job] = await quiet.boss.fetch<{ requestId: string }>('process-request');
      expect(job?.data.requestId).toBe(id);
      const claimed = await claimRequestAttempt(quiet.t.db, { requestId: id, attempt: 0, job: job! });
      expect(claimed.kind).toBe('claimed');
      if (claimed.kind !== 'claimed') return;
      expect((await cancelRequest(quiet.t.db, id)).kind).toBe('canceled');
      expect(await completeRequestAttempt(quiet.t.db, claimed.claim, 200, '{"ok":true}')).toBeUndefined();
      const final = await row(quiet.t, id);
      expect(final.state).toBe('canceled');
      expect(final.responseBody).toBeNull();
    } finally {
      await quiet.close();
    }
  });
});

describe('cancel while pending', () => {
  it('never calls the upstream for a request canceled before its job runs', async () => {
    const quiet = await startHarness({ processor: false });
    try {
      const id = await submit(quiet, { model: 'm-cancel-pending' });
      expect((await row(quiet.t, id)).state).toBe('pending');
      const result = await cancelRequest(quiet.t.db, id);
      expect(result.kind).toBe('canceled');
      if (result.kind === 'canceled') expect(result.row.state).toBe('canceled');

      // Now a processor arrives and runs the job: it finds the row terminal and does nothing.
      const processor = await startTestProcessor(quiet, {}, { concurrency: 4 });
      try {
        await waitFor(() => jobState(quiet, processRequestJobId(id, 0)), (s) => s === 'completed', { what: 'job completed' });
      } finally {
        await quiet.boss.offWork('process-request');
        await processor.stop();
      }
      expect(quiet.upstream.calls).toHaveLength(0);
      expect((await row(quiet.t, id)).state).toBe('canceled');
    } finally {
      await quiet.close();
    }
  });
});
