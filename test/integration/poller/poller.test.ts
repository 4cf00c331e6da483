import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WaitTimeout } from '../../../src/errors.ts';
import { completeResponsesIdempotent } from '../../../src/store/requests/complete.ts';
import { createSingleRequestBatches } from '../../../src/store/requests/create.ts';
import { Listener } from '../../../src/poller/listener.ts';
import { Poller } from '../../../src/poller/poller.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { realtimeRequest, type RequestFixture } from '../../helpers/factories.ts';
import { silentLogger } from '../../helpers/pipeline.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

async function startPoller(pollIntervalMs: number) {
  const listener = new Listener({ url: t.url, logger: silentLogger, reconnectDelayMs: 100 });
  const poller = new Poller({ listener, db: t.db, logger: silentLogger, pollIntervalMs });
  await poller.start();
  return {
    listener,
    poller,
    async stop() {
      await poller.stop();
      await listener.stop();
    },
  };
}

async function pending(fixtures: RequestFixture[]) {
  await createSingleRequestBatches(
    t.db,
    fixtures.map((r) => ({
      requestId: r.create.requestId,
      batchId: r.create.batchId,
      endpoint: r.create.endpoint,
      model: r.create.model,
      serviceTier: 'flex' as const,
      background: false,
      body: r.create.body,
      createdBy: r.create.createdBy!,
      apiKeyId: r.create.apiKeyId,
      state: 'pending' as const,
      completionWindow: '1h',
      expiresAt: new Date(Date.now() + 3_600_000),
    })),
  );
}

const toCompletion = (r: RequestFixture) => ({
  ...r.complete,
  createdBy: r.complete.createdBy!,
  startedAt: new Date(r.complete.startedAt),
  finishedAt: new Date(r.complete.finishedAt),
});

describe('Poller', () => {
  it('wakes on the NOTIFY of the committing transaction, long before any poll', async () => {
    // A one-minute backstop: only the NOTIFY can resolve this within the test.
    const p = await startPoller(60_000);
    try {
      const r = realtimeRequest();
      await pending([r]);
      const waiting = p.poller.waitForTerminal(r.create.requestId, { timeoutMs: 10_000 });
      await new Promise((res) => setTimeout(res, 50));
      const committed = performance.now();
      await completeResponsesIdempotent(t.db, [toCompletion(r)]);
      const object = await waiting;
      const wokeAfterMs = performance.now() - committed;
      expect(object).toMatchObject({ id: `resp_${r.create.requestId}`, status: 'completed', object: 'response' });
      expect(wokeAfterMs).toBeLessThan(5_000);
    } finally {
      await p.stop();
    }
  });

  it('resolves at once when the request is already terminal', async () => {
    const p = await startPoller(60_000);
    try {
      const r = realtimeRequest({ status: 500 });
      await completeResponsesIdempotent(t.db, [toCompletion(r)]);
      const object = await p.poller.waitForTerminal(r.create.requestId, { timeoutMs: 5_000 });
      expect(object.status).toBe('failed');
    } finally {
      await p.stop();
    }
  });

  it('still resolves when the NOTIFY was missed, by polling', async () => {
    const p = await startPoller(100);
    try {
      const r = realtimeRequest();
      await pending([r]);
      const waiting = p.poller.waitForTerminal(r.create.requestId, { timeoutMs: 10_000 });
      // A writer that sends no NOTIFY (as if the notification were lost).
      await t.pool.query(
        `UPDATE requests SET state = 'completed', response_status = 200, response_body = $2, completed_at = now() WHERE id = $1`,
        [r.create.requestId, r.complete.responseBody],
      );
      expect((await waiting).status).toBe('completed');
    } finally {
      await p.stop();
    }
  });

  it('catches up after its LISTEN connection was lost', async () => {
    const p = await startPoller(60_000);
    try {
      const r = realtimeRequest();
      await pending([r]);
      const waiting = p.poller.waitForTerminal(r.create.requestId, { timeoutMs: 10_000 });
      p.listener.simulateConnectionLoss();
      await completeResponsesIdempotent(t.db, [toCompletion(r)]);
      expect((await waiting).status).toBe('completed');
    } finally {
      await p.stop();
    }
  });

  it('rejects with the typed timeout when the request stays live', async () => {
    const p = await startPoller(50);
    try {
      const r = realtimeRequest();
      await pending([r]);
      const err = await p.poller.waitForTerminal(r.create.requestId, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WaitTimeout);
      expect(err).toMatchObject({ requestId: r.create.requestId, timeoutMs: 300 });
      expect(p.poller.waiting).toBe(0);
    } finally {
      await p.stop();
    }
  });

  it('serves 1,000 concurrent waiters over one LISTEN connection', async () => {
    const p = await startPoller(60_000);
    try {
      const fixtures = Array.from({ length: 1_000 }, () => realtimeRequest());
      await pending(fixtures);
      const waits = fixtures.map((r) => p.poller.waitForTerminal(r.create.requestId, { timeoutMs: 30_000 }));
      expect(p.poller.waiting).toBe(1_000);
      const { rows } = await t.pool.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'volley-listener'`,
      );
      expect(rows[0].n).toBe(1);
      await completeResponsesIdempotent(t.db, fixtures.map(toCompletion));
      const objects = await Promise.all(waits);
      expect(objects.map((o) => o.id)).toEqual(fixtures.map((r) => `resp_${r.create.requestId}`));
      expect(objects.every((o) => o.status === 'completed')).toBe(true);
      expect(p.poller.waiting).toBe(0);
    } finally {
      await p.stop();
    }
  });
});
