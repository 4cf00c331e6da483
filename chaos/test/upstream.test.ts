import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseReader, streamAccumulator } from '../sse.ts';
import { answerText, newNonce, parseLenientJson } from '../text.ts';
import { startChaosUpstream, type ChaosUpstream } from '../upstream.ts';
import { pickOutcome, poison, POISON_TOKENS } from '../upstream-faults.ts';

describe('pickOutcome', () => {
  it('poisons every call of a poisoned nonce and none when poison is off', () => {
    const nonces = Array.from({ length: 200 }, newNonce);
    const poisoned = nonces.filter((n) => pickOutcome({ poisonUsage: 0.5 }, n, Math.random) === 'poison-usage');
    expect(poisoned.length).toBeGreaterThan(50);
    for (const n of poisoned) expect(pickOutcome({ poisonUsage: 0.5 }, n, Math.random)).toBe('poison-usage');
    expect(nonces.every((n) => pickOutcome({}, n, Math.random) === 'ok')).toBe(true);
  });

  it('draws the HTTP faults per call from their fractions', () => {
    expect(pickOutcome({ http429: 0.3, http5xx: 0.3 }, undefined, () => 0.1)).toBe('429');
    expect(pickOutcome({ http429: 0.3, http5xx: 0.3 }, undefined, () => 0.5)).toMatch(/^50[03]$/);
    expect(pickOutcome({ http429: 0.3, http5xx: 0.3 }, undefined, () => 0.9)).toBe('ok');
  });
});

describe('poison', () => {
  it('puts usage above int4 and a NUL (escaped or raw) after the nonce', () => {
    const body = JSON.stringify({ choices: [{ message: { content: 'Echo: chaos-0123456789abcdef' } }], usage: { prompt_tokens: 7 } });
    expect(JSON.parse(poison(body, 'poison-usage', undefined)).usage.prompt_tokens).toBe(POISON_TOKENS);
    const nonce = 'chaos-0123456789abcdef';
    expect(answerText(JSON.parse(poison(body, 'poison-nul-escape', nonce)))).toBe(`Echo: ${nonce}\u0000`);
    const raw = poison(body, 'poison-nul-byte', nonce);
    expect(raw).toContain(`${nonce}\u0000"`);
    expect(answerText(parseLenientJson(raw))).toBe(`Echo: ${nonce}\u0000`);
  });
});

describe('the chaos upstream', () => {
  let upstream: ChaosUpstream;
  beforeAll(async () => {
    upstream = await startChaosUpstream({ latencyMs: 0, chunkDelayMs: 0 });
  });
  afterAll(() => upstream.close());

  const post = (path: string, body: object, headers: Record<string, string> = {}) =>
    fetch(`${upstream.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('echoes the nonce of the last user text and records the call by nonce with the request id', async () => {
    const nonce = newNonce();
    const res = await post('/chat/completions', { model: 'm', messages: [{ role: 'user', content: `say ${nonce}` }] }, { 'x-volley-request-id': 'abc.sig' });
    const body = (await res.json()) as { usage: { prompt_tokens: number } };
    expect(answerText(body)).toContain(nonce);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(upstream.callsFor(nonce)).toMatchObject([{ outcome: 'ok', requestId: 'abc', endpoint: '/v1/chat/completions' }]);
  });

  it('streams a Responses answer that a client reads to its final text', async () => {
    const nonce = newNonce();
    const res = await post('/responses', { model: 'm', input: `say ${nonce}`, stream: true });
    const acc = streamAccumulator('responses');
    const reader = new SseReader();
    for (const data of reader.push(await res.text())) acc.data(data);
    expect(acc.result()).toMatchObject({ complete: true });
    expect(acc.result().text).toContain(nonce);
  });

  it('answers 429 with Retry-After while the fault is on, and normally once it is off', async () => {
    upstream.setFaults({ http429: 1 });
    const limited = await post('/responses', { model: 'm', input: newNonce() });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    upstream.clearFaults();
    expect((await post('/responses', { model: 'm', input: newNonce() })).status).toBe(200);
  });

  it('never completes a stream while the reset fault is on', async () => {
    upstream.setFaults({ reset: 1 });
    for (let i = 0; i < 12; i++) {
      const nonce = newNonce();
      const text = await post('/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: nonce }] })
        .then((res) => res.text())
        .catch(() => '');
      expect(text).not.toContain('[DONE]');
      expect(upstream.callsFor(nonce)[0]!.outcome).toMatch(/^reset-(headers|body)$/);
    }
    upstream.clearFaults();
  });
});
