import { PgBoss, type ConstructorOptions } from 'pg-boss';
import { IDLE_CONNECTION_MS } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { prepareRepeatedStatements } from './prepared-boss.ts';
import { DEAD_LETTER_OPTIONS, QUEUE_OPTIONS, QUEUES, deadLetterQueue, type QueueName } from './definitions.ts';

export interface BossOptions {
  url: string;
  logger: Logger;
  /** Pool size for pg-boss's own connections (fetches, completions, sends). */
  max?: number;
  /**
   * Hold a LISTEN connection so this instance's workers wake on new jobs (default). A
   * process that only produces jobs gains nothing from it but a wake-up per insert.
   */
  listen?: boolean;
  /** Run maintenance and cron scheduling (one role per deployment is enough; harmless if more). */
  supervise?: boolean;
  schedule?: boolean;
  extra?: Partial<ConstructorOptions>;
}

/**
 * Starts a pg-boss instance and makes sure every queue exists. LISTEN/NOTIFY wakes workers
 * the moment a job is inserted; polling stays as the backstop.
 */
export async function startBoss(opts: BossOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: opts.url,
    max: opts.max ?? 10,
    application_name: 'volley-boss',
    // Passed through to pg's Pool like the other pool settings, though pg-boss's types omit it.
    ...({ idleTimeoutMillis: IDLE_CONNECTION_MS } as Partial<ConstructorOptions>),
    useListenNotify: opts.listen ?? true,
    supervise: opts.supervise ?? true,
    schedule: opts.schedule ?? true,
    // Schema is installed by the release step (npm run migrate); a role never races it.
    migrate: false,
    ...opts.extra,
  });
  boss.on('error', (err) => opts.logger.error({ err, component: 'pg-boss' }, 'pg-boss error'));
  prepareRepeatedStatements(boss);
  await boss.start();
  await createQueues(boss);
  return boss;
}

/**
 * Idempotent; dead-letter queues first, since a queue names its dead-letter queue. Queues
 * that already exist get the current options too (createQueue leaves an existing queue as
 * it was), so a changed option takes effect with the next deploy.
 */
export async function createQueues(boss: PgBoss): Promise<void> {
  for (const queue of Object.values(QUEUES) as QueueName[]) {
    for (const [name, options] of [
      [deadLetterQueue(queue), DEAD_LETTER_OPTIONS],
      [queue, QUEUE_OPTIONS[queue]],
    ] as const) {
      await boss.createQueue(name, options);
      await boss.updateQueue(name, options);
    }
  }
}
