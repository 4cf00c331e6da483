import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../../src/jobs/definitions.ts';
import { InlineCreateResponse } from '../../../src/gateway/recording.ts';
import { startSweeper } from '../../../src/jobs/sweeper.ts';
import { findRequestDetail } from '../../../src/store/requests/find.ts';
import { realtimeRequest } from '../../helpers/factories.ts';
import { silentLogger, startPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ workers: false });
});
afterAll(async () => {
  await p.stop();
});

describe('the scheduled sweep', () => {
  it('runs the jobs pg-boss cron sends, including a null payload, and fails stale realtime rows', async () => {
    const r = realtimeRequest();
    await new InlineCreateResponse(p.t.db).record(r.create);
    await p.t.pool.query(`UPDATE requests SET started_at = now() - interval '2 hours', updated_at = now() - interval '2 hours' WHERE id = $1`, [r.create.requestId]);
    // What pg-boss's cron does each minute: send the schedule's data as the job's payload.
    // A schedule made without data (as startSweeper's was) stores null, and sends null.
    const cronJob = await p.boss.send(QUEUES.sweep, null);
    expect(cronJob).toBeTruthy();

    await startSweeper({ boss: p.boss, db: p.t.db, logger: silentLogger, staleAfterMs: 60 * 60_000 });

    const swept = await waitFor(
      async () => {
        const row = await findRequestDetail(p.t.db, r.create.requestId);
        return row?.state === 'failed' ? row : undefined;
      },
      { what: 'the stale realtime row failed by the sweep' },
    );
    expect(swept.error).toBe('{"type":"TrackingLost"}');
    // The job is settled after its handler's writes commit.
    const job = await waitFor(async () => {
      const j = await p.boss.getJobById(QUEUES.sweep, cronJob!);
      return j?.state === 'active' || j?.state === 'created' ? undefined : j;
    });
    expect(job?.state).toBe('completed');
    // The schedule now carries `{}`, so cron's jobs have a payload of their own.
    const [schedule] = await p.boss.getSchedules(QUEUES.sweep);
    expect(schedule?.data).toEqual({});
  });
});
