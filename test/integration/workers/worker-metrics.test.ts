import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/db/embedded.ts';
import { spawnRole } from '../../helpers/child.ts';
import { realtimeRequest } from '../../helpers/factories.ts';
import { startPipeline, type Pipeline } from '../../helpers/pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ workers: false });
});
afterAll(async () => {
  await p.stop();
});

describe('worker role metrics', () => {
  it('serves job outcomes by queue on METRICS_PORT', async () => {
    const port = await freePort();
    const worker = spawnRole('workers/worker.ts', {
      DATABASE_URL: p.t.url,
      ADMIN_TOKEN: 'test-admin-token-0123456789',
      UPSTREAM_URL: 'dev',
      METRICS_PORT: String(port),
    });
    try {
      await worker.waitForOutput('worker role ready');
      const fixtures = Array.from({ length: 3 }, () => realtimeRequest());
      await Promise.all(fixtures.map((r) => p.producer.enqueueCompleteResponse(r.complete)));
      const text = await waitFor(
        async () => {
          const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return /volley_job_outcomes_total\{queue="complete-response",outcome="completed"\} 3\b/.test(body) ? body : undefined;
        },
        { what: 'three completed complete-response jobs in /metrics' },
      );
      expect(text).toContain('volley_process_resident_memory_bytes');
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      worker.process.kill('SIGTERM');
      await worker.exited;
    }
  });
});
