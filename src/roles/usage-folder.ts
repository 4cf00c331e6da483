// The worker role's usage fold (DESIGN 12): every second, pending usage contributions are
// folded into the rollups (store/usage-fold.ts), batch after batch while a backlog lasts. Any
// number of workers may run it; one folds at a time. Reads include what is still pending, so
// the interval only bounds how much a read sums from the pending table.
import type { Db } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { FOLD_BATCH, foldPendingUsage } from '../store/usage-fold.ts';

export const FOLD_INTERVAL_MS = 1_000;

export function startUsageFolder(opts: { db: Db; logger: Logger; intervalMs?: number }): { stop(): Promise<void> } {
  const log = opts.logger.child({ component: 'usage-fold' });
  let running: Promise<void> | undefined;
  let stopped = false;
  let failing = false;
  const run = async () => {
    try {
      while (!stopped && (await foldPendingUsage(opts.db)) === FOLD_BATCH);
      if (failing) log.info('folding usage again');
      failing = false;
    } catch (err) {
      // The contributions stay pending (reads still count them); logged once per outage.
      if (!failing) log.warn({ err }, 'could not fold usage; will retry');
      failing = true;
    }
  };
  const timer = setInterval(() => {
    running ??= run().finally(() => (running = undefined));
  }, opts.intervalMs ?? FOLD_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
