import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../../src/jobs/definitions.ts';
import { startResponseWorkers } from '../../../src/jobs/response-workers.ts';
import { spawnRole } from '../../helpers/child.ts';
import { realtimeRequest } from '../../helpers/factories.ts';
import { silentLogger, startPipeline, trackedRequestIds, type Pipeline } from '../../helpers/pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ workers: false });
});
afterAll(async () => {
  await p.stop();
});

describe('worker role shutdown', () => {
  it('a worker stopped with SIGTERM in the middle of a batch loses no job: another worker finishes them', async () => {
    const fixtures = Array.from({ length: 150 }, () => realtimeRequest());
    await Promise.all(fixtures.map((r) => p.producer.enqueueCreateResponse(r.create)));

    // Hold the batches table so the worker's batch statement blocks mid-batch.
    const lock = await p.t.pool.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE batches IN EXCLUSIVE MODE');
    const worker = spawnRole('workers/worker.ts', {
      DATABASE_URL: p.t.url,
      ADMIN_TOKEN: 'test-admin-token-0123456789',
      UPSTREAM_URL: 'dev',
      SHUTDOWN_TIMEOUT_MS: '1000',
    });
    try {
      await worker.waitForOutput('worker role ready');
      // The worker has jobs in hand and its statement is waiting on our lock.
      await waitFor(
        async () => {
          const { rows } = await p.t.pool.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO batches%'`,
          );
          return rows[0].n > 0 ? true : undefined;
        },
        { what: 'the worker to block inside a batch' },
      );
      const active = await p.boss.findJobs(QUEUES.createResponse, { queued: false });
      expect(active.filter((j) => j.state === 'active').length).toBeGreaterThan(0);

      worker.process.kill('SIGTERM');
      await worker.exited;
      expect(worker.output()).toContain('shutting down');
      // pg-boss handed the batch back before the process went away.
      await waitFor(
        async () => {
          const jobs = await p.boss.findJobs(QUEUES.createResponse, { queued: false, limit: 1000 });
          return jobs.some((j) => j.state === 'active') ? undefined : true;
        },
        { what: 'no job left active by the stopped worker' },
      );
    } finally {
      await lock.query('ROLLBACK');
      lock.release();
      if (worker.process.exitCode === null) worker.process.kill('SIGKILL');
    }

    // Nothing was written by the stopped worker; a second worker picks everything up.
    await startResponseWorkers({ boss: p.boss, db: p.t.db, logger: silentLogger });
    const ids = fixtures.map((r) => r.create.requestId);
    const n = await waitFor(
      async () => {
        const { rows } = await p.t.pool.query(`SELECT count(*)::int AS n FROM requests WHERE id = ANY($1::uuid[])`, [ids]);
        return rows[0].n === ids.length ? rows[0].n : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'every request row' },
    );
    expect(n).toBe(150);
    // Each job is settled right after its rows are written; wait for the settling too.
    const unsettled = await waitFor(
      async () => {
        const jobs = await p.boss.findJobs(QUEUES.createResponse, { queued: false, limit: 1000 });
        const mine = jobs.filter((j) => trackedRequestIds(j.data).some((id) => ids.includes(id)));
        const carried = new Set(mine.flatMap((j) => trackedRequestIds(j.data)));
        const open = mine.filter((j) => j.state !== 'completed');
        return ids.every((id) => carried.has(id)) && open.length === 0 ? open : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'every job completed' },
    );
    expect(unsettled).toEqual([]);
  });
});
