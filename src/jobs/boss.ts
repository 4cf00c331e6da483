import { PgBoss, type ConstructorOptions } from 'pg-boss';
import { openDatabase } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Listener } from '../poller/listener.ts';
import { bossDatabase } from './boss-database.ts';
import { DEAD_LETTER_OPTIONS, QUEUES, deadLetterQueue, queueOptions, type QueueName } from './definitions.ts';

export interface BossOptions {
  url: string;
  logger: Logger;
  /** Pool size for pg-boss's own connections (fetches, completions, sends). */
  max?: number;
  /**
   * The process's LISTEN connection: with it, this instance's workers wake the moment a job
   * is inserted (polling stays as the backstop). A process that only produces jobs gains
   * nothing from it but a wake-up per insert, so it passes none.
   */
  listener?: Listener;
  /** Run maintenance and cron scheduling (one role per deployment is enough; harmless if more). */
  supervise?: boolean;
  schedule?: boolean;
  /** REALTIME_STALE_AFTER: the tracking queues' retries are fitted inside it (definitions.ts). */
  staleAfterMs?: number;
  extra?: Partial<ConstructorOptions>;
}

/**
 * Starts a pg-boss instance on a pool of its own and makes sure every queue exists. pg-boss
 * runs on volley's database adapter (boss-database.ts) through its public `db` option, so
 * it never reaches into pg-boss's internals; the pool is closed when pg-boss stops.
 */
export async function startBoss(opts: BossOptions): Promise<PgBoss> {
  const database = openDatabase(opts.url, { max: opts.max ?? 10, applicationName: 'volley-boss' });
  const boss = new PgBoss({
    db: bossDatabase(database.pool, opts.listener),
    useListenNotify: opts.listener !== undefined,
    supervise: opts.supervise ?? true,
    schedule: opts.schedule ?? true,
    // Schema is installed by the release step (npm run migrate); a role never races it.
    migrate: false,
    ...opts.extra,
  });
  boss.on('error', (err) => opts.logger.error({ err, component: 'pg-boss' }, 'pg-boss error'));
  boss.once('stopped', () => void database.close().catch(() => {}));
  try {
    await boss.start();
    await createQueues(boss, opts.staleAfterMs);
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  return boss;
}

/**
 * Idempotent; dead-letter queues first, since a queue names its dead-letter queue. Queues
 * that already exist get the current options too (createQueue leaves an existing queue as
 * it was), so a changed option takes effect with the next deploy.
 */
export async function createQueues(boss: PgBoss, staleAfterMs?: number): Promise<void> {
  const options = queueOptions(staleAfterMs);
  for (const queue of Object.values(QUEUES) as QueueName[]) {
    for (const [name, o] of [
      [deadLetterQueue(queue), DEAD_LETTER_OPTIONS],
      [queue, options[queue]],
    ] as const) {
      await boss.createQueue(name, o);
      await boss.updateQueue(name, o);
    }
  }
}
