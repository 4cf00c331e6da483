// `store: false` (DESIGN 11): after the answer, neither the request's nor the response's body
// is anywhere volley keeps things — not in any table (every schema's, pg-boss's jobs and
// their archive included), not in a job payload, not in a log line at trace level — while the
// row keeps what analytics needs (model, usage, status, owner). GET and input_items are 404.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../../src/db/pgboss.ts';
import { createLogger } from '../../../src/logger.ts';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

const CHAT_MODEL = 'chat-engine';
const logLines: string[] = [];

let gw: TestGateway;
let key: TestKey;
let client: OpenAI;

beforeAll(async () => {
  gw = await startTestGateway({ logger: createLogger('trace', { write: (line: string) => void logLines.push(line) }) });
  await gw.addModel(CHAT_MODEL, { api: 'chat' });
  key = await gw.createKey();
  client = gw.client(key.key);
});
afterAll(async () => {
  await gw?.close();
});

/** Every place in the database that holds `needle`: `schema.table` of each row that does. */
async function whereStored(needle: string): Promise<string[]> {
  const { rows: tables } = await gw.t.pool.query<{ schema: string; name: string }>(`
    SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`);
  expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['requests', 'job']));
  const found: string[] = [];
  for (const t of tables) {
    const { rows } = await gw.t.pool.query(
      `SELECT count(*)::int AS n FROM "${t.schema}"."${t.name}" AS x WHERE x::text LIKE '%' || $1 || '%'`,
      [needle],
    );
    if (rows[0].n > 0) found.push(`${t.schema}.${t.name}`);
  }
  return found;
}

describe('store: false', () => {
  it('the scan finds a stored request (so it can find one)', async () => {
    const marker = `kept-${Date.now()}`;
    const r = await client.responses.create({ model: 'dev-model', input: marker });
    await gw.terminalRow(parseResponseId(r.id));
    expect(await whereStored(marker)).toContain('public.requests');
  });

  it.each([
    ['dev-model', false],
    ['dev-model', true],
    [CHAT_MODEL, false],
    [CHAT_MODEL, true],
  ])('%s (stream %s): no body in any table, job payload or log; usage recorded', async (model, stream) => {
    const marker = `secret-${model}-${stream}-${Date.now()}`;
    let id: string;
    let text = '';
    if (stream) {
      let final: OpenAI.Responses.Response | undefined;
      for await (const e of await client.responses.create({ model, input: marker, store: false, stream: true })) {
        if (e.type === 'response.completed') final = e.response;
      }
      id = final!.id;
      text = JSON.stringify(final!.output);
      expect((final as unknown as { store: boolean }).store).toBe(false);
    } else {
      const r = await client.responses.create({ model, input: marker, store: false });
      id = r.id;
      text = r.output_text;
      expect((r as unknown as { store: boolean }).store).toBe(false);
    }
    expect(text).toContain(marker); // the answer held the marker (Echo: …), so the scan covers the output too

    const row = await gw.terminalRow(parseResponseId(id));
    expect(row).toMatchObject({ state: 'completed', model, store: false, body: '' });
    expect(row.responseBody ?? '').toBe('');
    expect(row.promptTokens).toBeGreaterThan(0);
    expect(row.completionTokens).toBeGreaterThan(0);
    expect(row.createdBy).toBe(key.userId);
    // Let the worker's complete-response job (its payload is scanned too) finish.
    await waitForIdleQueues();

    expect(await whereStored(marker)).toEqual([]);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(marker))).toEqual([]);

    for (const path of [`/v1/responses/${id}`, `/v1/responses/${id}/input_items`]) {
      const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key.key}` } });
      expect(res.status, path).toBe(404);
    }
  });

  it('background or flex with store: false is a 400, and nothing is kept', async () => {
    for (const extra of [{ background: true }, { service_tier: 'flex' }]) {
      const marker = `refused-${Date.now()}-${Object.keys(extra)[0]}`;
      const res = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'dev-model', input: marker, store: false, ...extra }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'store' } });
      expect(await whereStored(marker)).toEqual([]);
    }
  });
});

/** Until no create- or complete-response job is waiting or running (their payloads are scanned). */
async function waitForIdleQueues(): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await gw.t.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = ANY($1) AND state IN ('created', 'retry', 'active')`,
        [[QUEUES.createResponse, QUEUES.completeResponse]],
      );
      return rows[0]!.n === 0 ? true : undefined;
    },
    { what: 'the record queues to drain' },
  );
}
