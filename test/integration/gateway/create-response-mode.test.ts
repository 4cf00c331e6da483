// The realtime path makes a request durable before answering it, with either DURABILITY: the
// gateway writes create-response's row itself (no create-response job), then completes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../../src/jobs/definitions.ts';
import { jobId } from '../../../src/ids.ts';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

describe.each(['fast', 'strict'] as const)('DURABILITY=%s', (mode) => {
  let gw: TestGateway;
  let key: TestKey;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { DURABILITY: mode } });
    key = await gw.createKey();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('records the request before the upstream answers, then completes it', async () => {
    // A slow model: the request is in flight for 1.5 s.
    const pending = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dev-slow-1500', messages: [{ role: 'user', content: 'durable first' }] }),
    });
    const inFlight = await waitFor(
      async () => {
        const { rows } = await gw.t.pool.query(
          `SELECT id, state FROM requests WHERE created_by = $1 AND body LIKE '%durable first%'`,
          [key.userId],
        );
        return rows[0] as { id: string; state: string } | undefined;
      },
      { timeoutMs: 1_400, intervalMs: 10, what: 'the processing row while the upstream is still working' },
    );
    expect(inFlight.state).toBe('processing');
    const response = await pending;
    expect(response.status).toBe(200);
    const id = parseResponseId(response.headers.get('x-volley-response-id')!);
    expect(id).toBe(inFlight.id);
    expect((await gw.terminalRow(id)).state).toBe('completed');
    const jobs = await gw.boss.findJobs(QUEUES.createResponse, { id: jobId(QUEUES.createResponse, id) });
    expect(jobs.length).toBe(0);
  });
});
