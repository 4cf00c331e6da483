// One clock for a queued response's `created_at`: the 202 queued object, the row, and GET of
// the finished response all say the same second. The queued object used to take the gateway's
// clock after the INSERT while the row took PostgreSQL's `now()`, so the two differed across a
// second boundary (and by any skew between the machines). Here the gateway's clock runs 90 s
// ahead of PostgreSQL's, which makes every such difference visible, not one call in hundreds.
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

let gw: TestGateway;
let key: TestKey;

beforeAll(async () => {
  gw = await startTestGateway();
  key = await gw.createKey();
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await gw?.close();
});

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await res.json()) as Record<string, unknown>;
}

it.each([
  ['background', {}],
  ['flex background', { service_tier: 'flex' }],
])('%s: the queued object, the row and GET of the finished response share created_at', async (_name, extra) => {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 90_000, shouldAdvanceTime: true });
  const queued = await call('POST', '/v1/responses', { model: 'dev-model', input: 'later', background: true, ...extra });
  expect(queued.status).toBe('queued');
  const row = await gw.terminalRow(parseResponseId(queued.id as string));
  const done = await waitFor(async () => {
    const r = await call('GET', `/v1/responses/${queued.id as string}`);
    return r.status === 'completed' ? r : undefined;
  });
  expect(queued.created_at).toBe(Math.floor(row.createdAt.getTime() / 1_000));
  expect(done.created_at).toBe(queued.created_at);
});
