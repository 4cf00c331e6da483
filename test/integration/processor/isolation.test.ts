// A background request whose answer the database would refuse is stored (clamped, sanitised)
// and is not sent upstream again (DESIGN 13). Before, the terminal write failed, the job was
// retried, and every retry called the upstream once more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INT4 } from '../../../src/responses/storable.ts';
import { OK_BODY } from '../../helpers/fault-upstream.ts';
import { startHarness, submit, waitForState, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('a poisoned background answer', () => {
  it('usage above int4: completed with its counts clamped, after one upstream call', async () => {
    h.upstream.script('m-huge-usage', [
      { kind: 'respond', body: { ...OK_BODY, usage: { prompt_tokens: 3_000_000_000, completion_tokens: 1, total_tokens: 3_000_000_001 } } },
    ]);
    const others = await Promise.all([submit(h, { model: 'm-fine' }), submit(h, { model: 'm-fine' })]);
    const id = await submit(h, { model: 'm-huge-usage' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect({ state: done.state, prompt: done.promptTokens }).toEqual({ state: 'completed', prompt: MAX_INT4 });
    expect(h.upstream.callsFor(id)).toHaveLength(1);
    for (const other of others) expect((await waitForState(h.t, other, ['completed', 'failed'])).state).toBe('completed');
  });

  it('a raw NUL byte: completed with the byte replaced, after one upstream call', async () => {
    h.upstream.script('m-nul', [{ kind: 'respond', body: JSON.stringify(OK_BODY).replace('"ok"', '"o\u0000k"') }]);
    const id = await submit(h, { model: 'm-nul' });
    const done = await waitForState(h.t, id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    expect(done.responseBody).toContain('o\uFFFDk');
    expect(h.upstream.callsFor(id)).toHaveLength(1);
  });
});
