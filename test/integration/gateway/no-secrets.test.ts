// No API key secret is ever written to a job, a row or a log line (DESIGN 4): every path
// that handles a key is exercised, then every table volley and pg-boss own is searched, and
// every log line the whole service wrote at trace level.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.ts';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

const logLines: string[] = [];
let gw: TestGateway;
beforeAll(async () => {
  const logger = createLogger('trace', { write: (line: string) => void logLines.push(line) });
  gw = await startTestGateway({ logger });
});
afterAll(async () => {
  await gw?.close();
});

describe('API key secrets', () => {
  it('appear in no table row, no job payload and no log line, on every request path', async () => {
    const created = await fetch(`${gw.url}/admin/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'secret-keeper' }),
    });
    expect(created.status).toBe(200);
    const { key } = (await created.json()) as { key: string };
    expect(key.length).toBeGreaterThan(20);
    const client = gw.client(key);

    const chat = await client.chat.completions
      .create({ model: 'dev-model', messages: [{ role: 'user', content: 'keep it secret' }] })
      .withResponse();
    const stream = await client.chat.completions.create({
      model: 'dev-model',
      messages: [{ role: 'user', content: 'stream it' }],
      stream: true,
    });
    for await (const _chunk of stream) void _chunk;
    await client.embeddings.create({ model: 'dev-model', input: 'embed' });
    const background = await client.responses.create({ model: 'dev-model', input: 'later', background: true });
    const flex = await client.responses.create({ model: 'dev-model', input: 'flex', service_tier: 'flex' });
    expect(flex.status).toBe('completed');
    // A wrong key and an upstream error are logged too.
    await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}x`, 'content-type': 'application/json' },
      body: '{"model":"dev-model","messages":[]}',
    });
    await client.chat.completions.create({ model: 'dev-status-500', messages: [{ role: 'user', content: 'x' }] }).catch(() => {});

    await gw.terminalRow(parseResponseId(chat.response.headers.get('x-volley-response-id')!));
    await waitFor(async () => ((await client.responses.retrieve(background.id)).status === 'completed' ? true : undefined));

    const { rows: tables } = await gw.t.pool.query<{ name: string }>(
      `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
       WHERE table_schema IN ('public', 'pgboss', 'drizzle') AND table_type = 'BASE TABLE'`,
    );
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['public.requests', 'public.api_keys', 'pgboss.job_common']));
    const hits: Record<string, number> = {};
    let rowsSearched = 0;
    for (const { name } of tables) {
      const { rows } = await gw.t.pool.query(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE t::text LIKE '%' || $1 || '%')::int AS hits FROM ${name} t`,
        [key],
      );
      rowsSearched += rows[0].total;
      if (rows[0].hits > 0) hits[name] = rows[0].hits;
    }
    expect(hits).toEqual({});
    // The search looked at the rows that carry the requests and their jobs.
    expect(rowsSearched).toBeGreaterThan(10);

    const logs = logLines.join('');
    expect(logLines.length).toBeGreaterThan(10);
    expect(logs).not.toContain(key);
    // The key's hash is not a secret, but it has no business in a log either.
    expect(logs).not.toContain(key.slice(10));
  });
});
