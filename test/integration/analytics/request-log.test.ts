// The request log of DESIGN 12 on seeded traffic: what each request records, every filter of
// /admin/requests against the answer worked out from the seed, cursor paging, one request with
// its bodies, the export, and /v1/me/requests (never another user's rows).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toResponseId } from '../../../src/responses/response-id.ts';
import { seedTraffic, type Seed, type SeededRequest } from '../../helpers/analytics-seed.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../helpers/app.ts';

let gw: TestGateway;
let seed: Seed;

beforeAll(async () => {
  gw = await startTestGateway();
  seed = await seedTraffic(gw);
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

interface Row {
  id: string;
  status: string;
  model: string;
  user: string | null;
  [field: string]: unknown;
}
interface Page {
  object: string;
  data: Row[];
  next_cursor: string | null;
  has_more: boolean;
}

async function admin<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/** The ids /admin/requests answers for a query (one page of 200 is all of the seed). */
async function ids(query: string): Promise<string[]> {
  const { status, body } = await admin<Page>(`/admin/requests?limit=200&${query}`);
  expect(status, query).toBe(200);
  return body.data.map((r) => r.id).sort();
}

const expected = (pick: (r: SeededRequest) => boolean) =>
  seed.requests.filter(pick).map((r) => toResponseId(r.id)).sort();

describe('what each request records', () => {
  it('timings, tokens, finish reason, tier, upstream model, metadata, end user', async () => {
    const { body } = await admin<Page>('/admin/requests?limit=200');
    const byLabel = new Map(seed.requests.map((r) => [r.label, body.data.find((d) => d.id === toResponseId(r.id))!]));
    for (const [label, row] of byLabel) {
      expect(row, label).toBeDefined();
      expect(row.duration_ms, label).toEqual(expect.any(Number));
      expect(row.duration_ms as number, label).toBeGreaterThan(0);
    }
    expect(byLabel.get('chat')).toMatchObject({
      status: 'completed',
      http_status: 200,
      input_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
      finish_reason: 'stop',
      upstream_model: 'dev-model',
      metadata: { team: 'red' },
      ttft_ms: null,
      queue_delay_ms: null,
      user: seed.users.alice,
    });
    const stream = byLabel.get('chat-stream')!;
    expect(stream.ttft_ms).toEqual(expect.any(Number));
    expect(stream.ttft_ms as number).toBeLessThanOrEqual(stream.duration_ms as number);
    expect(stream.finish_reason).toBe('stop');
    expect(byLabel.get('responses')).toMatchObject({ metadata: { team: 'blue', env: 'prod' }, end_user: 'end-user-7', finish_reason: 'stop' });
    expect(byLabel.get('slow')!.duration_ms as number).toBeGreaterThanOrEqual(300);
    expect(byLabel.get('failed-500')).toMatchObject({ status: 'failed', http_status: 500, error: { type: 'server_error' } });
    expect(byLabel.get('failed-429')).toMatchObject({ status: 'failed', http_status: 429, error: { type: 'rate_limit_error' } });
    const bg = byLabel.get('background')!;
    expect(bg).toMatchObject({ background: true, status: 'completed' });
    expect(bg.queue_delay_ms).toEqual(expect.any(Number));
    expect(byLabel.get('flex')).toMatchObject({ service_tier: 'flex', status: 'completed' });
    expect(byLabel.get('flex')!.queue_delay_ms).toEqual(expect.any(Number));
  });
});

describe('GET /admin/requests filters', () => {
  it('each filter gives exactly the seeded rows it names', async () => {
    const { a1, a2 } = seed.keys;
    // The slow row takes 300 ms upstream; on a loaded machine another row can take 250 ms
    // too, so the expected set is read from the recorded durations (the slow one among them).
    const { rows: slowRows } = await gw.t.pool.query<{ id: string }>(
      `SELECT id FROM requests WHERE id = ANY($1::uuid[]) AND duration_ms >= 250`,
      [seed.requests.map((r) => r.id)],
    );
    const slow = new Set(slowRows.map((r) => r.id));
    expect(slow.has(seed.requests.find((r) => r.label === 'slow')!.id)).toBe(true);
    const cases: [string, (r: SeededRequest) => boolean][] = [
      [`user=${seed.users.alice}`, (r) => r.user === 'alice'],
      [`user=${seed.users.bob}`, (r) => r.user === 'bob'],
      [`api_key_id=${a1.id}`, (r) => r.key === 'a1'],
      [`api_key_id=${a2.id}`, (r) => r.key === 'a2'],
      ['model=dev-status-500', (r) => r.model === 'dev-status-500'],
      ['endpoint=/v1/chat/completions', (r) => r.endpoint === '/v1/chat/completions'],
      ['service_tier=flex', (r) => r.serviceTier === 'flex'],
      ['status=failed', (r) => r.status === 'failed'],
      ['status=completed', (r) => r.status === 'completed'],
      ['http_status=429', (r) => r.httpStatus === 429],
      ['min_duration_ms=250', (r) => slow.has(r.id)],
      ['metadata.team=red', (r) => r.metadata?.team === 'red'],
      ['metadata.team=blue&metadata.env=prod', (r) => r.metadata?.env === 'prod'],
      ['metadata.team=green', () => false],
      [`q=${seed.uniqueWord}`, (r) => r.label === 'chat'],
      // The answer's text is searched too: the development upstream echoes the prompt.
      ['q=Echo: in the backgr', (r) => r.label === 'background'],
      [`user=${seed.users.alice}&endpoint=/v1/responses`, (r) => r.user === 'alice' && r.endpoint === '/v1/responses'],
      ['status=queued', () => false],
      ['status=cancelled', () => false],
    ];
    for (const [query, pick] of cases) expect(await ids(query), query).toEqual(expected(pick));
  });

  it('from and to bound created_at', async () => {
    const { body } = await admin<Page>('/admin/requests?limit=200');
    const sorted = [...body.data].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    const middle = String(sorted[4]!.created_at);
    const after = sorted.filter((r) => String(r.created_at) >= middle).map((r) => r.id).sort();
    const before = sorted.filter((r) => String(r.created_at) < middle).map((r) => r.id).sort();
    expect(await ids(`from=${encodeURIComponent(middle)}`)).toEqual(after);
    expect(await ids(`to=${encodeURIComponent(middle)}`)).toEqual(before);
    expect(await ids('from=2000-01-01&to=2000-01-02')).toEqual([]);
  });

  it('pages newest first with a cursor: every row once, in order', async () => {
    const seen: Row[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { body }: { body: Page } = await admin<Page>(`/admin/requests?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(body.object).toBe('list');
      expect(body.data.length).toBeLessThanOrEqual(3);
      expect(body.has_more).toBe(body.next_cursor !== null);
      seen.push(...body.data);
      cursor = body.next_cursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(Math.ceil(seed.requests.length / 3));
    expect(seen.map((r) => r.id).sort()).toEqual(expected(() => true));
    const times = seen.map((r) => String(r.created_at));
    expect(times).toEqual([...times].sort().reverse());
  });

  it('a bad filter is a 400 naming it; an unknown user matches nothing', async () => {
    for (const query of ['limit=0', 'limit=201', 'status=done', 'from=yesterday', 'http_status=abc', 'cursor=nonsense', 'api_key_id=12', 'service_tier=gold']) {
      const { status, body } = await admin<{ error: { type: string; message: string } }>(`/admin/requests?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.type, query).toBe('invalid_request_error');
      expect(body.error.message, query).toContain(query.split('=')[0]!);
    }
    expect(await ids('user=nobody-at-all')).toEqual([]);
  });

  it('needs the admin token', async () => {
    const res = await fetch(`${gw.url}/admin/requests`, { headers: { authorization: `Bearer ${seed.keys.a1.key}` } });
    expect(res.status).toBe(401);
  });
});

describe('GET /admin/requests/{id}', () => {
  it('shows the bodies and the timings', async () => {
    const r = seed.requests.find((x) => x.label === 'responses')!;
    const { status, body } = await admin<Record<string, unknown>>(`/admin/requests/${toResponseId(r.id)}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: toResponseId(r.id),
      request_body: { model: 'dev-model', input: 'responses turn' },
      response_body: { object: 'response', status: 'completed', id: toResponseId(r.id) },
      timings: {
        received_at: expect.any(String),
        upstream_started_at: expect.any(String),
        first_byte_at: expect.any(String),
        finished_at: expect.any(String),
        completed_at: expect.any(String),
      },
    });
    const t = body.timings as Record<string, string>;
    expect(Date.parse(t.received_at!)).toBeLessThanOrEqual(Date.parse(t.upstream_started_at!));
    expect(Date.parse(t.upstream_started_at!)).toBeLessThanOrEqual(Date.parse(t.first_byte_at!));
    expect(Date.parse(t.first_byte_at!)).toBeLessThanOrEqual(Date.parse(t.finished_at!));
    expect((await admin(`/admin/requests/resp_${'0'.repeat(32)}`)).status).toBe(404);
    expect((await admin('/admin/requests/not-an-id')).status).toBe(404);
  });
});

describe('GET /admin/requests/export', () => {
  it('JSONL: one line per matching row, the same rows as the list', async () => {
    const res = await fetch(`${gw.url}/admin/requests/export?format=jsonl&user=${seed.users.bob}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="volley-requests-.*\.jsonl"/);
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Row);
    expect(lines.map((l) => l.id).sort()).toEqual(expected((r) => r.user === 'bob'));
  });

  it('CSV: a header and a row per match, fields quoted where needed', async () => {
    const res = await fetch(`${gw.url}/admin/requests/export?format=csv&metadata.team=blue`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.headers.get('content-type')).toContain('text/csv');
    const [header, ...rows] = (await res.text()).trim().split('\r\n');
    const columns = header!.split(',');
    expect(columns.slice(0, 3)).toEqual(['id', 'created_at', 'endpoint']);
    expect(rows).toHaveLength(1);
    const r = seed.requests.find((x) => x.label === 'responses')!;
    expect(rows[0]).toContain(toResponseId(r.id));
    // metadata is JSON, so it has quotes and commas: quoted, quotes doubled.
    expect(rows[0]).toContain('"{""env"":""prod"",""team"":""blue""}"'); // (jsonb orders keys)
  });
});

describe('/v1/me/requests', () => {
  it("shows the key's own user's rows and never another's", async () => {
    const me = async (key: string, query = '') => {
      const res = await fetch(`${gw.url}/v1/me/requests?limit=200&${query}`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as Page).data.map((r) => r.id).sort();
    };
    expect(await me(seed.keys.a1.key)).toEqual(expected((r) => r.user === 'alice'));
    expect(await me(seed.keys.a2.key)).toEqual(expected((r) => r.user === 'alice'));
    expect(await me(seed.keys.b1.key)).toEqual(expected((r) => r.user === 'bob'));
    // Asking for the other user's rows by filter still shows none of them.
    expect(await me(seed.keys.b1.key, `user=${seed.users.alice}`)).toEqual([]);
    expect(await me(seed.keys.b1.key, `api_key_id=${seed.keys.a1.id}`)).toEqual([]);
    const alices = seed.requests.find((r) => r.user === 'alice')!;
    const other = await fetch(`${gw.url}/v1/me/requests/${toResponseId(alices.id)}`, { headers: { authorization: `Bearer ${seed.keys.b1.key}` } });
    expect(other.status).toBe(404);
    const own = await fetch(`${gw.url}/v1/me/requests/${toResponseId(alices.id)}`, { headers: { authorization: `Bearer ${seed.keys.a2.key}` } });
    expect(own.status).toBe(200);
    expect((await fetch(`${gw.url}/v1/me/requests`)).status).toBe(401);
  });
});

describe('x-volley-metadata', () => {
  it('outside the limits, or not a map of strings, is a 400 naming the header; nothing is recorded', async () => {
    const bad = [
      'not json',
      '["a"]',
      JSON.stringify({ n: 1 }),
      JSON.stringify(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']))),
      JSON.stringify({ ['k'.repeat(65)]: 'v' }),
      JSON.stringify({ k: 'v'.repeat(513) }),
    ];
    const before = (await gw.t.pool.query(`SELECT count(*)::int AS n FROM requests`)).rows[0].n;
    for (const header of bad) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seed.keys.a1.key}`, 'content-type': 'application/json', 'x-volley-metadata': header },
        body: JSON.stringify({ model: 'dev-model', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status, header).toBe(400);
      expect(await res.json(), header).toMatchObject({ error: { type: 'invalid_request_error', param: 'x-volley-metadata', code: 'invalid_metadata' } });
    }
    expect((await gw.t.pool.query(`SELECT count(*)::int AS n FROM requests`)).rows[0].n).toBe(before);
  });
});
