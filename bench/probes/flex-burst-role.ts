// Probe role: workers/flex.ts, but every boss.work() gets `burstWhenBatchFull: true`
// (PROBE_BURST=0 leaves the options alone). Used by flex-burst.ts to price that lever.
import type { PgBoss } from 'pg-boss';
import { openDatabase } from '../../src/db/client.ts';
import { startBoss } from '../../src/jobs/boss.ts';
import { requestProcessorSettings, startRequestProcessor } from '../../src/jobs/processor.ts';
import { loadConfigOrExit, onShutdownSignal, requireDatabaseUrl } from '../../src/lifecycle.ts';
import { createLogger } from '../../src/logger.ts';
import { Listener } from '../../src/poller/listener.ts';

const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'flex-probe' });
const url = requireDatabaseUrl(env, 'flex');
const settings = requestProcessorSettings(env, env.UPSTREAM_URL!);
const database = openDatabase(url, { max: 10, applicationName: 'volley-flex-probe' });
const listener = new Listener({ url, logger: log });
await listener.start();
const boss = await startBoss({ url, logger: log, extra: { superviseIntervalSeconds: 10, monitorIntervalSeconds: 10 } });
const burst = process.env.PROBE_BURST !== '0';
const wrapped = new Proxy(boss, {
  get(target, prop) {
    if (prop === 'work' && burst) {
      return (name: string, options: object, handler: unknown) =>
        (target.work as (...a: unknown[]) => unknown)(name, { ...options, burstWhenBatchFull: true }, handler);
    }
    const v = Reflect.get(target, prop, target) as unknown;
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  },
}) as PgBoss;
const processor = await startRequestProcessor({ boss: wrapped, db: database.db, listener, logger: log, ...settings });
onShutdownSignal(log, async () => {
  await boss.stop({ graceful: true, timeout: 5_000 });
  await processor.stop();
  await listener.stop();
  await database.close();
});
