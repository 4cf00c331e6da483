import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Validation } from '../../../src/errors.ts';
import { QUEUES } from '../../../src/jobs/definitions.ts';
import { settle, type Outcome } from '../../../src/jobs/run.ts';
import { createLogger } from '../../../src/logger.ts';
import { fetchedJob } from '../../helpers/factories.ts';

const log = createLogger('silent');
const job = (data: unknown) => fetchedJob(QUEUES.processRequest, data);

describe('settle (the shared job runner)', () => {
  it('dead-letters an invalid payload with an error naming the field, and runs its valid batch-mates', async () => {
    const good = job({ requestId: randomUUID() });
    const bad = job({ requestId: 42 });
    const seen: string[] = [];
    const results = await settle(QUEUES.processRequest, [good, bad], async (jobs) => {
      seen.push(...jobs.map((j) => j.id));
      return new Map<string, Outcome>(jobs.map((j) => [j.id, { status: 'completed' }]));
    }, log);
    expect(seen).toEqual([good.id]);
    expect(results).toContainEqual({ id: good.id, status: 'completed', output: undefined });
    const dead = results.find((r) => r.id === bad.id);
    expect(dead?.status).toBe('deadletter');
    expect(JSON.stringify(dead?.output)).toMatch(/requestId/);
  });

  it('fails (for retry) the valid jobs of a batch whose handler threw a retryable error', async () => {
    const jobs = [job({ requestId: randomUUID() }), job({ requestId: randomUUID() })];
    const results = await settle(QUEUES.processRequest, jobs, async () => {
      throw new Error('connection reset');
    }, log);
    expect(results.map((r) => r.status)).toEqual(['failed', 'failed']);
  });

  it('dead-letters on an error that says it is not retryable', async () => {
    const results = await settle(QUEUES.processRequest, [job({ requestId: randomUUID() })], async () => {
      throw new Validation('bad body');
    }, log);
    expect(results[0]?.status).toBe('deadletter');
  });

  it('fails a job the handler forgot to report, so it is retried rather than lost', async () => {
    const results = await settle(QUEUES.processRequest, [job({ requestId: randomUUID() })], async () => new Map(), log);
    expect(results[0]).toMatchObject({ status: 'failed', output: { error: expect.stringMatching(/no outcome/) } });
  });
});
