// The export at scale (DESIGN 12, issue 15): 100,000 matching rows streamed as JSONL and CSV by
// a gateway process whose peak memory grows by far less than the export's size (it holds two
// pages of rows at most, and waits for the socket to drain).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../helpers/app.ts';
import { MAX_EXPORTS } from '../../../src/gateway/routes/admin/requests.ts';

const ROWS = 100_000;
let gw: TestGateway;
let web: { url: string; pid: number };

beforeAll(async () => {
  gw = await startTestGateway();
  const started = await gw.startWebProcess();
  web = { url: started.url, pid: started.child.process.pid! };
  const owner = (await gw.createKey({ user: 'exporter' })).userId;
  // Seeded in SQL, finished rows with the fields a list shows, a 200-character prompt each.
  await gw.t.pool.query(
    `WITH b AS (INSERT INTO batches (id, created_by, endpoint, completion_window)
                SELECT gen_random_uuid(), $1, '/v1/chat/completions', '0s' FROM generate_series(1, $2) RETURNING id)
     INSERT INTO requests (id, batch_id, state, endpoint, model, body, created_by, response_status, response_body, completed_at,
                           prompt_tokens, completion_tokens, total_tokens, duration_ms, metadata, received_at, created_at)
     SELECT gen_random_uuid(), b.id, 'completed', '/v1/chat/completions', 'bulk-model', repeat('x', 200), $1, 200, '{}', now(),
            10, 20, 30, 1.5, '{"batch":"export"}', now() - interval '1 minute', now() - interval '1 minute'
     FROM b`,
    [owner, ROWS],
  );
}, 120_000);
afterAll(async () => {
  await gw?.close();
});

/** The process's peak resident set (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** Reads a download as it streams, counting lines and bytes without keeping it. */
async function download(path: string): Promise<{ lines: number; bytes: number; first: string }> {
  const res = await fetch(`${web.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  let lines = 0;
  let bytes = 0;
  let first = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    if (first.length < 2_000) first += decoder.decode(chunk, { stream: true });
    for (const b of chunk) if (b === 10) lines++;
  }
  return { lines, bytes, first };
}

describe('export of 100,000 rows', () => {
  it('JSONL and CSV stream every row while the process stays small', async () => {
    const before = peakRssMb(web.pid);
    const jsonl = await download('/admin/requests/export?format=jsonl&model=bulk-model');
    expect(jsonl.lines).toBe(ROWS);
    expect(JSON.parse(jsonl.first.split('\n')[0]!)).toMatchObject({ object: 'request', model: 'bulk-model', metadata: { batch: 'export' } });
    const csv = await download('/admin/requests/export?format=csv&metadata.batch=export');
    expect(csv.lines).toBe(ROWS + 1); // the header
    const grown = peakRssMb(web.pid) - before;
    const exportedMb = (jsonl.bytes + csv.bytes) / 2 ** 20;
    // Each export is tens of MB; the process holds two pages (1,000 rows each) at most.
    expect(exportedMb).toBeGreaterThan(60);
    expect(grown, `peak RSS grew ${grown.toFixed(1)} MB while exporting ${exportedMb.toFixed(1)} MB`).toBeLessThan(48);
  }, 120_000);

  it('a client that leaves mid-export: the process goes on serving, and the next export is whole', async () => {
    const abort = new AbortController();
    const res = await fetch(`${web.url}/admin/requests/export?format=jsonl&model=bulk-model`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    abort.abort();
    const after = await download('/admin/requests/export?format=csv&model=bulk-model');
    expect(after.lines).toBe(ROWS + 1);
    expect(() => process.kill(web.pid, 0)).not.toThrow();
  }, 120_000);

  it(`a third export while ${MAX_EXPORTS} run gets 503 with Retry-After; once one ends, the next is served`, async () => {
    const open = async () => {
      const abort = new AbortController();
      const res = await fetch(`${web.url}/admin/requests/export?format=jsonl&model=bulk-model`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        signal: abort.signal,
      });
      return { res, abort };
    };
    // Not read: each waits for its socket to drain, so both stay running.
    const running = [];
    for (let i = 0; i < MAX_EXPORTS; i++) running.push(await open());
    expect(running.map((r) => r.res.status)).toEqual(Array(MAX_EXPORTS).fill(200));
    const refused = await open();
    expect(refused.res.status).toBe(503);
    expect(refused.res.headers.get('retry-after')).toBe('5');
    expect(await refused.res.json()).toMatchObject({ error: { code: 'too_many_exports', type: expect.any(String) } });
    running[0]!.abort.abort();
    // The server notices the client left at its next write; then a slot is free.
    let next = await open();
    const until = Date.now() + 20_000;
    while (next.res.status === 503 && Date.now() < until) {
      await next.res.body?.cancel();
      await new Promise((r) => setTimeout(r, 100));
      next = await open();
    }
    expect(next.res.status).toBe(200);
    for (const r of [...running.slice(1), next]) r.abort.abort();
  }, 120_000);
});
