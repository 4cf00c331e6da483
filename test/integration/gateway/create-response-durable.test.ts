// CREATE_RESPONSE_DURABLE=before-reply: the create-response write runs while the upstream
// call is in flight, and nothing reaches the client until it is committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultUpstream, OK_BODY, type FaultUpstream } from '../../helpers/fault-upstream.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { waitFor } from '../../helpers/wait.ts';

let upstream: FaultUpstream;
let gw: TestGateway;
let key: TestKey;
let failWrites = false;
let releaseWrites: (() => void) | undefined;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  gw = await startTestGateway({
    proxyTo: upstream.url,
    config: { CREATE_RESPONSE_DURABLE: 'before-reply' },
    wrapJobs: (jobs) => ({
      ...jobs,
      async enqueueCreateResponse(p) {
        if (releaseWrites) await new Promise<void>((r) => (releaseWrites = r));
        if (failWrites) {
          // As a real outage would: the write hangs a while, then fails.
          await new Promise((r) => setTimeout(r, 200));
          throw new Error('database unavailable (injected)');
        }
        return jobs.enqueueCreateResponse(p);
      },
    }),
  });
  key = await gw.createKey();
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

const post = (content: string, model = 'fault-model') =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });

describe('CREATE_RESPONSE_DURABLE=before-reply', () => {
  it('calls the upstream before the record is committed, but answers only after it is', async () => {
    upstream.script('slow-write', [{ kind: 'respond', body: OK_BODY }]);
    releaseWrites = () => {};
    const pending = post('overlap', 'slow-write');
    // The upstream has the call (and has answered) while the write is still held.
    await waitFor(async () => (upstream.callsFor('slow-write')[0]?.outcome === 'answered' ? true : undefined), {
      what: 'the upstream to answer while the record is held',
    });
    let answered = false;
    void pending.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    const release = releaseWrites;
    releaseWrites = undefined;
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    const id = parseResponseId(res.headers.get('x-volley-response-id')!);
    const row = await gw.terminalRow(id);
    expect(row.state).toBe('completed');
    expect(JSON.parse(row.responseBody!)).toEqual(OK_BODY);
  });

  it('when the record cannot be written: 503 tracking_unavailable, the upstream call cut off, the 503 recorded', async () => {
    upstream.script('hanging', [{ kind: 'hang' }]);
    failWrites = true;
    const res = await post('refused', 'hanging');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; type: string } };
    expect(body.error.code).toBe('tracking_unavailable');
    // The call had reached the upstream; the gateway closed it instead of waiting for the answer.
    const [call] = await waitFor(
      async () => (upstream.callsFor('hanging')[0]?.outcome === 'client-closed' ? upstream.callsFor('hanging') : undefined),
      { what: 'the upstream call to be closed by the gateway' },
    );
    expect(call?.outcome).toBe('client-closed');
    // complete-response still records what the client got.
    const id = parseResponseId(res.headers.get('x-volley-response-id') ?? '');
    const row = await gw.terminalRow(id);
    expect({ state: row.state, status: row.responseStatus }).toEqual({ state: 'failed', status: 503 });
  });

  it('after a failed write, waits for the record before proxying until a write succeeds again', async () => {
    // Still failing: refused before the upstream is called at all.
    upstream.script('guarded', [{ kind: 'respond', body: OK_BODY }]);
    const refused = await post('guarded', 'guarded');
    expect(refused.status).toBe(503);
    expect(upstream.callsFor('guarded')).toHaveLength(0);
    failWrites = false;
    const ok = await post('guarded again', 'guarded');
    expect(ok.status).toBe(200);
    expect(upstream.callsFor('guarded')).toHaveLength(1);
  });
});
