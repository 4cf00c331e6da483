import type { PgBoss } from 'pg-boss';
import { startBoss } from '../../src/jobs/boss.ts';
import { Producer } from '../../src/jobs/producer.ts';
import { startResponseWorkers } from '../../src/jobs/response-workers.ts';
import { createLogger } from '../../src/logger.ts';
import { Listener } from '../../src/poller/listener.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const silentLogger = createLogger('silent');

export interface Pipeline {
  t: TestDatabase;
  boss: PgBoss;
  producer: Producer;
  stop(): Promise<void>;
}

/** A test database with pg-boss, the response workers and a producer, all in-process. */
export async function startPipeline(opts: { workers?: boolean; batchSize?: number } = {}): Promise<Pipeline> {
  const t = await createTestDatabase();
  // Workers wake on pg-boss's NOTIFY through the process's listener, as in the roles.
  const listener = new Listener({ url: t.url, logger: silentLogger });
  const boss = await startBoss({ url: t.url, logger: silentLogger, supervise: false, schedule: false, max: 10, listener });
  if (opts.workers !== false) {
    await startResponseWorkers({ boss, db: t.db, logger: silentLogger, batchSize: opts.batchSize });
  }
  const producer = new Producer(boss);
  return {
    t,
    boss,
    producer,
    async stop() {
      await producer.close();
      await boss.stop({ graceful: true, timeout: 5_000 });
      await listener.stop();
      await t.drop();
    },
  };
}

/** The request ids a tracking job carries: its own record's, or every record of an envelope. */
export function trackedRequestIds(data: unknown): string[] {
  const d = data as { requestId?: string; records?: { requestId: string }[] };
  return d.records ? d.records.map((r) => r.requestId) : d.requestId ? [d.requestId] : [];
}
