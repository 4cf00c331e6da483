// Reads what volley recorded for a segment: waits (bounded) until every row a client was
// told about is terminal, then fetches those rows and every row created during the segment
// (a retried request that made a second row is found by its nonce).
import type pg from 'pg';
import type { ClientRecord } from './client.ts';
import type { RowInfo } from './classify.ts';
import { sleep } from './roles.ts';
import { answerText, findNonce, isRecord, parseLenientJson } from './text.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface SettleResult {
  rows: RowInfo[];
  /** How long the wait for terminal rows took, and whether it ended with all of them terminal. */
  settleMs: number;
  allTerminal: boolean;
  /** States of the rows still not terminal (or `missing`) when the wait ended. */
  openStates: Record<string, number>;
}

/** The ids (uuids) a client was given, from x-volley-response-id. */
export function toldIds(records: readonly ClientRecord[]): string[] {
  const ids = new Set<string>();
  for (const r of records) {
    const id = r.responseId?.startsWith('resp_') ? r.responseId.slice(5) : undefined;
    if (id !== undefined && UUID.test(id)) ids.add(id);
  }
  return [...ids];
}

/** Waits (bounded) for the told rows to be terminal, then reads them and the repetition's other rows. */
export async function settleAndFetch(
  pool: pg.Pool,
  opts: { ids: string[]; since: Date; settleMs: number; idleMs: number },
): Promise<SettleResult> {
  const started = Date.now();
  let best = Infinity;
  let lastProgress = started;
  let open: Record<string, number> = {};
  for (;;) {
    try {
      const { rows } = await pool.query<{ state: string; n: number }>(
        `SELECT state, count(*)::int AS n FROM requests
          WHERE id = ANY($1::uuid[]) AND state NOT IN ('completed', 'failed', 'canceled') GROUP BY state`,
        [opts.ids],
      );
      const found = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM requests WHERE id = ANY($1::uuid[])', [opts.ids]);
      open = Object.fromEntries(rows.map((r) => [r.state, r.n]));
      const missing = opts.ids.length - found.rows[0]!.n;
      if (missing > 0) open['missing'] = missing;
      const remaining = Object.values(open).reduce((s, n) => s + n, 0);
      if (remaining === 0) break;
      if (remaining < best) {
        best = remaining;
        lastProgress = Date.now();
      }
    } catch {
      // The database is still coming back: keep waiting within the bound.
    }
    if (Date.now() - started > opts.settleMs || Date.now() - lastProgress > opts.idleMs) break;
    await sleep(500);
  }
  const settleMs = Date.now() - started;
  const { rows } = await pool.query<{ id: string; state: string; body: string; response_body: string | null; error: string | null }>(
    `SELECT id, state, body, response_body, error FROM requests WHERE id = ANY($1::uuid[]) OR created_at >= $2`,
    [opts.ids, opts.since],
  );
  return {
    rows: rows.map((r) => ({
      id: r.id,
      state: r.state,
      nonce: findNonce(r.body),
      text: r.response_body === null ? undefined : answerText(parseLenientJson(r.response_body)),
      hasError: r.error !== null && r.error !== '',
      errorType: errorType(r.error),
    })),
    settleMs,
    allTerminal: Object.keys(open).length === 0,
    openStates: open,
  };
}

/** The `type` of a FailureReason JSON in `requests.error`; `text` for anything else. */
function errorType(error: string | null): string | undefined {
  if (error === null || error === '') return undefined;
  const parsed = parseLenientJson(error);
  return isRecord(parsed) && typeof parsed['type'] === 'string' ? parsed['type'] : 'text';
}
