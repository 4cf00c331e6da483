/**
 * Runs the development upstream on its own: `node src/dev-upstream/main.ts`.
 * Environment: DEV_UPSTREAM_PORT (8081), DEV_UPSTREAM_HOST (127.0.0.1),
 * DEV_UPSTREAM_LATENCY_MS (0), DEV_UPSTREAM_CHUNK_DELAY_MS (0).
 */
import { devUpstreamOptionsFromEnv } from './env.ts';
import { startDevUpstream } from './server.ts';

async function main(): Promise<void> {
  const options = devUpstreamOptionsFromEnv(process.env);
  const upstream = await startDevUpstream(options);
  process.stdout.write(
    `volley development upstream (a development tool, not a real model) listening at ${upstream.url}` +
      ` (latency ${options.latencyMs} ms, chunk delay ${options.chunkDelayMs} ms)\n`,
  );
  const stop = (): void => {
    upstream.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`development upstream failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
