import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues } from '../../../src/jobs/boss.ts';
import { QUEUE_OPTIONS, QUEUES, deadLetterQueue } from '../../../src/jobs/definitions.ts';
import { startPipeline, type Pipeline } from '../../helpers/pipeline.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ workers: false });
});
afterAll(async () => {
  await p.stop();
});

describe('queues', () => {
  it('exist with their dead-letter queue, retry backoff and retention', async () => {
    for (const name of Object.values(QUEUES)) {
      const queue = await p.boss.getQueue(name);
      expect(queue).toMatchObject({
        name,
        deadLetter: deadLetterQueue(name),
        retryLimit: QUEUE_OPTIONS[name].retryLimit,
        expireInSeconds: QUEUE_OPTIONS[name].expireInSeconds,
      });
      expect(await p.boss.getQueue(deadLetterQueue(name))).not.toBeNull();
    }
    expect(await p.boss.getQueue(QUEUES.completeResponse)).toMatchObject({ retryBackoff: true, deleteAfterSeconds: 3_600 });
  });

  it('take the current options at start-up even when they already existed', async () => {
    await p.boss.updateQueue(QUEUES.completeResponse, { retryLimit: 1, deleteAfterSeconds: 99 });
    await createQueues(p.boss);
    expect(await p.boss.getQueue(QUEUES.completeResponse)).toMatchObject({
      retryLimit: QUEUE_OPTIONS[QUEUES.completeResponse].retryLimit,
      deleteAfterSeconds: 3_600,
    });
  });
});
