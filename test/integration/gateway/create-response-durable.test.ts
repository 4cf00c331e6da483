// DURABILITY: with fast (the default) the create-response write runs while the upstream
// call is in flight, and nothing reaches the client until it is committed; with strict
// (DESIGN 1.1b as written) the upstream is called only after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultUpstream, OK_BODY, type FaultUpstream } from '../../helpers/fault-upstream.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { waitFor } from '../../helpers/wait.ts';
import { recordWaits } from '../../../src/metrics.ts';

const waitingForRecord = async () => (await recordWaits.get()).values[0]?.value ?? 0;

let upstream: FaultUpstream;
let gw: TestGateway;
let key: TestKey;
let strict: TestGateway;
let strictKey: TestKey;
let failWrites = false;
let releaseWrites: (() => void) | undefined;
let heldWrites = 0;

const startGateway = (mode: 'fast' | 'strict') =>
  startTestGateway({
    proxyTo: upstream.url,
    env: { DURABILITY: mode },
    wrapJobs: (jobs) => ({
      ...jobs,
      async enqueueCreateResponse(p) {
        if (releaseWrites) {
          heldWrites++;
          await new Promise<void>((r) => (releaseWrites = r));
        }
        if (failWrites) {
          // As a real outage would: the write hangs a while, then fails.
          await new Promise((r) => setTimeout(r, 200));
          throw new Error('database unavailable (injected)');
        }
        return jobs.enqueueCreateResponse(p);
      },
    }),
  });

beforeAll(async () => {
  upstream = await startFaultUpstream();
  gw = await startGateway('fast');
  key = await gw.createKey();
  strict = await startGateway('strict');
  strictKey = await strict.createKey();
});
afterAll(async () => {
  await gw?.close();
  await strict?.close();
  await upstream?.close();
});

const postTo = (g: TestGateway, k: TestKey, content: string, model: string) =>
  fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
const post = (content: string, model = 'fault-model') => postTo(gw, key, content, model);

describe('DURABILITY=fast', () => {
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
    // The relay holds the reply for the record (the gauge counts it), and nothing has gone out.
    await waitFor(async () => ((await waitingForRecord()) === 1 ? true : undefined), { what: 'the reply to wait for its record' });
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

describe('DURABILITY=strict', () => {
  it('calls the upstream only once the record is committed', async () => {
    upstream.script('strict-slow-write', [{ kind: 'respond', body: OK_BODY }]);
    releaseWrites = () => {};
    const held = heldWrites;
    const pending = postTo(strict, strictKey, 'in order', 'strict-slow-write');
    await waitFor(() => (heldWrites > held ? true : undefined), { what: 'the write to be held' });
    // The request waits for its record before the relay (the gauge counts it): no call yet.
    await waitFor(async () => ((await waitingForRecord()) === 1 ? true : undefined), { what: 'the request to wait for its record' });
    expect(upstream.callsFor('strict-slow-write')).toHaveLength(0);
    const release = releaseWrites;
    releaseWrites = undefined;
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(upstream.callsFor('strict-slow-write')).toHaveLength(1);
    const row = await strict.terminalRow(parseResponseId(res.headers.get('x-volley-response-id')!));
    expect(row.state).toBe('completed');
  });

  // Nothing reached the upstream, so there is nothing to record.
  it('when the record cannot be written: 503 before the upstream is called', async () => {
    upstream.script('strict-refused', [{ kind: 'respond', body: OK_BODY }]);
    failWrites = true;
    try {
      const res = await postTo(strict, strictKey, 'refused', 'strict-refused');
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('tracking_unavailable');
      expect(upstream.callsFor('strict-refused')).toHaveLength(0);
    } finally {
      failWrites = false;
    }
  });
});
