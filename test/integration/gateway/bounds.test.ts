// Memory is bounded everywhere (DESIGN 13): at a bound the gateway answers 503 with
// Retry-After and the envelope, rather than growing; waits of clients that left are dropped;
// an upstream answer too large to hold is refused.
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollerWaiters } from '../../../src/metrics.ts';
import { startFaultUpstream, type FaultUpstream } from '../../helpers/fault-upstream.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

const BUDGET = 4_000;
let gw: TestGateway;
let key: TestKey;
beforeAll(async () => {
  gw = await startTestGateway({ limits: { memoryBytes: BUDGET } });
  key = await gw.createKey();
});
afterAll(async () => {
  await gw?.close();
});

const chat = (content: string, model = 'dev-model') =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });

describe('the memory bound', () => {
  it('refuses a request it cannot hold with 503, Retry-After and the envelope; takes it again once there is room', async () => {
    // Three slow requests of ~1,100 bytes each hold most of the 4,000-byte budget.
    const slow = Array.from({ length: 3 }, (_, i) => chat(`${i}${'x'.repeat(1_050)}`, 'dev-slow-1500'));
    const refused = await waitFor(async () => {
      const res = await chat('y'.repeat(1_050));
      if (res.status === 503) return res;
      await res.arrayBuffer();
      return undefined;
    }, { what: 'a refusal while the budget is held' });
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { code: 'overloaded', type: 'server_error', param: null } });
    for (const res of await Promise.all(slow)) {
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    // Released once their completions are stored.
    await waitFor(async () => {
      const res = await chat('y'.repeat(1_050));
      await res.arrayBuffer();
      return res.status === 200 ? true : undefined;
    }, { what: 'room in the budget again' });
  });
});

describe('blocking flex waits', () => {
  it('are dropped when the client leaves', async () => {
    const waiting = async () => (await pollerWaiters.get()).values[0]?.value ?? 0;
    const controller = new AbortController();
    // Its own connection: an abort on one of the shared keep-alive pool's left that pool's
    // connection to the gateway open until its keep-alive timeout, holding the test's close.
    const agent = new Agent();
    const pending = undiciFetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dev-slow-5000', input: 'wait', service_tier: 'flex' }),
      signal: controller.signal,
      dispatcher: agent,
    }).catch(() => undefined);
    await waitFor(async () => ((await waiting()) === 1 ? true : undefined), { what: 'the wait to start' });
    controller.abort();
    await pending;
    await waitFor(async () => ((await waiting()) === 0 ? true : undefined), { what: 'the wait to be dropped' });
    await agent.close();
  });
});

describe('an upstream answer too large to hold', () => {
  let upstream: FaultUpstream;
  let big: TestGateway;
  beforeAll(async () => {
    upstream = await startFaultUpstream();
    big = await startTestGateway({ proxyTo: upstream.url });
  });
  afterAll(async () => {
    await big?.close();
    await upstream?.close();
  });

  it('is refused with 502 and the envelope, and recorded as such', async () => {
    upstream.script('huge', [{ kind: 'respond', body: JSON.stringify({ filler: 'z'.repeat(33 * 1024 * 1024) }) }]);
    const k = await big.createKey();
    const res = await fetch(`${big.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'huge', messages: [{ role: 'user', content: 'big' }] }),
    });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: 'upstream_answer_too_large' } });
    const row = await big.terminalRow(res.headers.get('x-volley-response-id')!.slice(5));
    expect({ state: row.state, status: row.responseStatus }).toEqual({ state: 'failed', status: 502 });
  });
});
