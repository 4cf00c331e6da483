// Adapters from the process's shared pieces (producer, pg-boss, database, store) to the
// interfaces the gateway's routes use. Used by workers/web.ts, workers/all-in-one.ts and
// the test helper, so the three wire the gateway the same way.
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/client.ts';
import { createBatchOf1 } from '../jobs/batch-of-1.ts';
import { InlineCreateResponse } from './recording.ts';
import { Producer } from '../jobs/producer.ts';
import { preparingExecutor } from '../jobs/prepared-boss.ts';
import { cancelRequest } from '../store/requests/cancel.ts';
import type { GatewayJobs } from './context.ts';

/**
 * The gateway's producer. create-response's jobs (CREATE_RESPONSE_MODE=queue) are inserted
 * through `createPool`, the pool of the inline write, so they commit as it does
 * (CREATE_RESPONSE_SYNC_COMMIT).
 */
export function gatewayProducer(boss: PgBoss, createPool: pg.Pool, completeLingerMs?: number): Producer {
  return new Producer(boss, {
    ...(completeLingerMs !== undefined ? { completeLingerMs } : {}),
    createDb: preparingExecutor(() => createPool),
  });
}

/**
 * `createResponse` picks how a realtime request is made durable (see
 * CREATE_RESPONSE_MODE): create-response's row written inline (through `createDb`, default
 * `db`), or its job enqueued.
 */
export function gatewayJobs(
  producer: Producer,
  db: Db,
  boss: PgBoss,
  createResponse: 'inline' | 'queue' = 'inline',
  createDb: Db = db,
): GatewayJobs {
  const inline = createResponse === 'inline' ? new InlineCreateResponse(createDb) : undefined;
  return {
    enqueueCreateResponse: inline ? (p) => inline.record(p) : (p) => producer.enqueueCreateResponse(p),
    enqueueCompleteResponse: (p) => producer.enqueueCompleteResponse(p),
    createBatchOf1: (input) => createBatchOf1(db, boss, input),
  };
}

export function gatewayCancel(db: Db): (requestId: string) => Promise<unknown> {
  return (requestId) => cancelRequest(db, requestId);
}
