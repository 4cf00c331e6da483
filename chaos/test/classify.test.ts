import { describe, expect, it } from 'vitest';
import { classify, type ClassifyInput, type RowInfo } from '../classify.ts';
import type { ClientRecord } from '../client.ts';
import type { CallOutcome } from '../upstream-faults.ts';

const ID = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function rec(n: number, over: Partial<ClientRecord> = {}): ClientRecord {
  return {
    kind: 'chat',
    nonce: `chaos-${String(n).padStart(16, '0')}`,
    startedAt: 1_000 + n,
    answeredAt: 1_010 + n,
    endedAt: 1_010 + n,
    status: 200,
    complete: true,
    responseId: `resp_${ID(n)}`,
    text: `Echo: ${n}`,
    ...over,
  };
}

function row(n: number, over: Partial<RowInfo> = {}): RowInfo {
  return { id: ID(n), state: 'completed', nonce: `chaos-${String(n).padStart(16, '0')}`, text: `Echo: ${n}`, hasError: false, errorType: undefined, ...over };
}

function input(records: ClientRecord[], rows: RowInfo[], calls: Record<string, CallOutcome[]> = {}): ClassifyInput {
  return {
    records,
    rows,
    callsFor: (nonce) => (calls[nonce] ?? ['ok']).map((outcome) => ({ outcome })),
    times: { start: 1_000, end: 1_000 },
    loadEnd: 10_000,
  };
}

describe('classify', () => {
  it('finds nothing when every answered request has its completed row with the same text', () => {
    const m = classify(input([rec(1), rec(2)], [row(1), row(2)]));
    expect(m).toMatchObject({ sent: 2, ok: 2, lost: 0, wrong: 0, duplicated: 0, upstreamRepeats: 0 });
  });

  it('counts an answered request without a row, or with a row still processing, as lost', () => {
    const m = classify(input([rec(1), rec(2)], [row(2, { state: 'processing' })]));
    expect(m.lost).toBe(2);
    expect(m.reasons.lost).toEqual({ 'no row': 1, 'still processing': 1 });
  });

  it('counts a failed row or a different stored text as wrong, and ignores requests the client did not get 2xx for', () => {
    const m = classify(
      input(
        [rec(1), rec(2), rec(3, { status: 503 })],
        [row(1, { state: 'failed', hasError: true, errorType: 'TrackingLost' }), row(2, { text: 'Echo: something else' }), row(3, { state: 'failed' })],
      ),
    );
    expect(m.wrong).toBe(2);
    expect(m.reasons.wrong).toEqual({ 'row failed (TrackingLost)': 1, 'stored text differs': 1 });
  });

  it('accepts a poisoned answer stored sanitised or failed with its reason, not one stored with other text', () => {
    const nul = (n: number) => `chaos-${String(n).padStart(16, '0')}`;
    const m = classify(
      input(
        [rec(1, { text: 'Echo: 1\u0000' }), rec(2), rec(3)],
        [row(1, { text: 'Echo: 1' }), row(2, { state: 'failed', hasError: true }), row(3, { text: 'Echo:' })],
        { [nul(1)]: ['poison-nul-byte'], [nul(2)]: ['poison-usage'], [nul(3)]: ['poison-nul-escape'] },
      ),
    );
    expect(m.poisoned).toEqual({ requests: 3, completed: 1, failedWithReason: 1 });
    expect(m.wrong).toBe(1);
  });

  it('counts one logical request with two rows as duplicated', () => {
    const m = classify(input([rec(1)], [row(1), row(9, { nonce: `chaos-${String(1).padStart(16, '0')}` })]));
    expect(m.duplicated).toBe(1);
  });

  it('counts a second upstream answer of a realtime request as a repeat, and a background retry after a failure only as a retry', () => {
    const bg = rec(2, { kind: 'background', status: 202, text: undefined });
    const m = classify(
      input([rec(1), bg], [row(1), row(2)], {
        [rec(1).nonce]: ['ok', 'ok'],
        [bg.nonce]: ['503', 'ok'],
      }),
    );
    expect(m.upstreamRepeats).toBe(1);
    expect(m.bgRetries).toBe(1);
    expect(m.bgRepeatsAfterSuccess).toBe(0);
  });

  it('reports accepted background work that never became terminal', () => {
    const bg = rec(1, { kind: 'flex-background', status: 202, text: undefined });
    const m = classify(input([bg], [row(1, { state: 'pending' })]));
    expect(m).toMatchObject({ bgAccepted: 1, bgNotTerminal: 1, lost: 0 });
  });

  it('measures recovery from the fault end to the first success after the last failure', () => {
    const records = [rec(1, { startedAt: 900 }), rec(2, { startedAt: 1_100, status: 0 }), rec(3, { startedAt: 1_500, status: 0 }), rec(4, { startedAt: 1_700 })];
    const m = classify({ ...input(records, records.map((_, i) => row(i + 1))), times: { start: 1_000, end: 1_200 } });
    expect(m.recoveryMs).toBe(500);
    expect(m.statuses).toEqual({ 'ERR:?': 2, '200': 1 });
  });

  it('says a fault never recovered when nothing succeeded after the last failure', () => {
    const m = classify({ ...input([rec(1, { startedAt: 1_100, status: 0 })], []), times: { start: 1_000, end: 1_000 } });
    expect(m.recoveryMs).toBeNull();
  });
});
