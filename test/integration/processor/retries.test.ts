import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRequestJobId, QUEUES } from '../../../src/db/pgboss.ts';
import { parseFailureReason } from '../../../src/responses/failure-reason.ts';
import { startHarness, submit, waitFor, waitForState, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('process-request against a fault-injecting upstream', () => {
  it('completes a 2xx answer with usage, forwarding the body without stream/background/service_tier', async () => {
    const id = await submit(h, { model: 'm-ok' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    expect(done.responseStatus).toBe(200);
    expect(done.totalTokens).toBe(8);
    expect(done.promptTokens).toBe(3);
    expect(done.error).toBeNull();
    const [call] = h.upstream.callsFor(id);
    expect(call).toBeDefined();
    expect(call!.path).toBe('/v1/chat/completions');
    expect(call!.authorization).toBe('Bearer sk-upstream-test');
    expect(call!.body).toEqual({ model: 'm-ok', messages: [{ role: 'user', content: 'hi' }] });
  });

  it('retries 429 twice then completes, with the backoff visible between attempts', async () => {
    h.upstream.script('m-429', [
      { kind: 'respond', status: 429, body: { error: { message: 'slow down' } } },
      { kind: 'respond', status: 429, body: { error: { message: 'slow down' } } },
      { kind: 'respond' },
    ]);
    const id = await submit(h, { model: 'm-429' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    expect(done.retryAttempt).toBe(2);
    expect(done.error).toBeNull();
    const calls = h.upstream.callsFor(id);
    expect(calls).toHaveLength(3);
    // Backoff with base 200 ms: attempt 1 waits 100–200 ms, attempt 2 waits 200–400 ms.
    const gap1 = calls[1]!.startedAt - calls[0]!.endedAt!;
    const gap2 = calls[2]!.startedAt - calls[1]!.endedAt!;
    expect(gap1).toBeGreaterThanOrEqual(100);
    expect(gap2).toBeGreaterThanOrEqual(200);
  });

  it('honours Retry-After (seconds) when it asks for longer than the backoff', async () => {
    h.upstream.script('m-retry-after', [{ kind: 'respond', status: 503, headers: { 'retry-after': '1' } }, { kind: 'respond' }]);
    const id = await submit(h, { model: 'm-retry-after' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    const calls = h.upstream.callsFor(id);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.startedAt - calls[0]!.endedAt!).toBeGreaterThanOrEqual(950);
  });

  it('fails with the last reason when 500 keeps coming, never starting an attempt after expires_at', async () => {
    h.upstream.script('m-500', (n) => ({ kind: 'respond', status: 500, body: `boom ${n}` }));
    const id = await submit(h, { model: 'm-500', completionWindow: '2s' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('failed');
    const calls = h.upstream.callsFor(id);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    const last = calls.length - 1;
    expect(parseFailureReason(done.error!)).toEqual({
      type: 'RetriableHttpStatus',
      details: { status: 500, body: `boom ${last}` },
    });
    expect(JSON.parse(done.error!)).toEqual({ type: 'RetriableHttpStatus', details: { status: 500, body: `boom ${last}` } });
    expect(done.responseStatus).toBe(500);
    // No attempt started after the deadline (a retry picked up late fails without a call).
    for (const call of calls) expect(call.startedAt).toBeLessThanOrEqual(done.expiresAt!.getTime());
  });

  it('fails a 400 after exactly one upstream call', async () => {
    h.upstream.script('m-400', [{ kind: 'respond', status: 400, body: { error: { message: 'bad input' } } }]);
    const id = await submit(h, { model: 'm-400' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('failed');
    expect(JSON.parse(done.error!)).toEqual({
      type: 'NonRetriableHttpStatus',
      details: { status: 400, body: JSON.stringify({ error: { message: 'bad input' } }) },
    });
    expect(done.responseStatus).toBe(400);
    expect(done.retryAttempt).toBe(0);
    // A retry would be the next attempt's own job, sent in the transaction that settled the
    // row: once the first attempt's job is done, either it exists or it never will.
    const first = await waitFor(
      () => h.boss.getJobById(QUEUES.processRequest, processRequestJobId(id, 0)),
      (job) => job?.state === 'completed',
      { what: "the first attempt's job to complete" },
    );
    expect(first?.output).toMatchObject({ state: 'failed' });
    expect(await h.boss.getJobById(QUEUES.processRequest, processRequestJobId(id, 1))).toBeNull();
    expect(h.upstream.callsFor(id)).toHaveLength(1);
  });

  it('retries a connection reset', async () => {
    h.upstream.script('m-reset', [{ kind: 'reset', delayMs: 20 }, { kind: 'respond' }]);
    const id = await submit(h, { model: 'm-reset' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    const calls = h.upstream.callsFor(id);
    expect(calls.map((c) => c.outcome)).toEqual(['reset', 'answered']);
  });

  it('records a NetworkError as the last reason when resets continue past the deadline', async () => {
    h.upstream.script('m-reset-always', [{ kind: 'reset' }]);
    const id = await submit(h, { model: 'm-reset-always', completionWindow: '1s' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('failed');
    const reason = JSON.parse(done.error!) as { type: string; details: { error: string } };
    expect(reason.type).toBe('NetworkError');
    expect(typeof reason.details.error).toBe('string');
    expect(Object.keys(reason)).toEqual(['type', 'details']);
  });

  it('fails Expired without calling upstream when the attempt starts after expires_at', async () => {
    const id = await submit(h, { model: 'm-expired', completionWindow: '0s' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('failed');
    const reason = JSON.parse(done.error!) as { type: string; details: { expires_at: string } };
    expect(reason.type).toBe('Expired');
    expect(reason.details.expires_at).toBe(done.expiresAt!.toISOString());
    expect(h.upstream.callsFor(id)).toHaveLength(0);
  });
});

describe('process-request timeouts', () => {
  let slow: Harness;
  beforeAll(async () => {
    slow = await startHarness({ upstreamTimeoutMs: 300 });
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('retries a call that hangs past the timeout, and the upstream sees the connection closed', async () => {
    slow.upstream.script('m-hang', [{ kind: 'hang' }, { kind: 'respond' }]);
    const id = await submit(slow, { model: 'm-hang' });
    const done = await waitForState(slow.t, id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    const calls = await waitFor(
      () => slow.upstream.callsFor(id),
      (c) => c.every((call) => call.outcome !== undefined),
    );
    expect(calls.map((c) => c.outcome)).toEqual(['client-closed', 'answered']);
    expect(calls[0]!.endedAt! - calls[0]!.startedAt).toBeGreaterThanOrEqual(250);
  });

  it('fails with Timeout as the last reason when every attempt hangs until the deadline', async () => {
    slow.upstream.script('m-hang-always', [{ kind: 'hang' }]);
    const id = await submit(slow, { model: 'm-hang-always', completionWindow: '1s' });
    const done = await waitForState(slow.t, id, ['completed', 'failed']);
    expect(done.state).toBe('failed');
    expect(JSON.parse(done.error!)).toEqual({ type: 'Timeout', details: { error: 'no complete answer within 300 ms' } });
  });
});
