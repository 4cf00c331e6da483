// What the browser tests look at: real requests made through the gateway with the official
// SDK by two users, in every shape the log distinguishes (chat and responses, streamed,
// flex, background, failed, one carrying markup in its prompt and metadata), waited for
// until each is recorded; and, so the charts have hours to draw, a few of alice's requests
// from earlier hours, inserted as terminal rows (the rollups count them as they are written).
import OpenAI from 'openai';
import { parseResponseId } from '../../src/responses/response-id.ts';
import type { TestGateway, TestKey } from '../helpers/app.ts';

/** Text that would run as script if the dashboard ever rendered data as markup. */
export const XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';

export interface Seeded {
  alice: TestKey;
  bob: TestKey;
  /** Every request, as `resp_…` ids: the ones made now, then the earlier hours'. */
  ids: string[];
  /** How many of them were made within the last hour. */
  recent: number;
  /** How many hours (other than the current one) have requests. */
  earlierHours: number;
  /** The id of the chat request whose prompt and metadata hold XSS. */
  xssId: string;
  byModel: Record<string, number>;
  byUser: Record<string, number>;
  failures: number;
}

/** `x-volley-response-id` of an answer or of an error the SDK threw. */
function idOf(headers: Headers | undefined): string {
  const id = headers?.get('x-volley-response-id');
  if (!id) throw new Error('the gateway answered without x-volley-response-id');
  return id;
}

export async function seed(gw: TestGateway, names: { alice: string; bob: string }): Promise<Seeded> {
  const alice = await gw.createKey({ user: names.alice });
  const bob = await gw.createKey({ user: names.bob });
  const a = gw.client(alice.key);
  const b = gw.client(bob.key);
  const ids: string[] = [];
  const chat = async (client: OpenAI, model: string, content: string, headers?: Record<string, string>) => {
    const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content }] }, { headers }).withResponse();
    ids.push(idOf(response.headers));
  };

  await chat(a, 'model-a', 'hello one');
  await chat(a, 'model-a', 'hello two');
  const { data: stream, response: streamed } = await a.chat.completions
    .create({ model: 'model-a', messages: [{ role: 'user', content: 'stream this' }], stream: true, stream_options: { include_usage: true } })
    .withResponse();
  for await (const _chunk of stream) {
    // Read to the end: the request is recorded once its answer is complete.
  }
  ids.push(idOf(streamed.headers));
  await chat(a, 'model-a', `look: ${XSS}`, { 'x-volley-metadata': JSON.stringify({ team: XSS, run: 'browser' }) });
  const xssId = ids.at(-1)!;

  ids.push((await b.responses.create({ model: 'model-b', input: 'hi there' })).id);
  ids.push((await b.responses.create({ model: 'model-b', input: 'flex please', service_tier: 'flex' })).id);
  ids.push((await b.responses.create({ model: 'model-b', input: 'in the background', background: true })).id);
  await chat(b, 'model-b', 'one more');
  for (const fail of [() => chat(b, 'dev-status-500', 'fail'), () => b.responses.create({ model: 'dev-status-500', input: 'fail too' })]) {
    const err = await fail().catch((e: unknown) => e);
    if (!(err instanceof OpenAI.InternalServerError)) throw new Error(`expected a 500, got ${String(err)}`);
    ids.push(idOf(err.headers));
  }

  for (const id of ids) await gw.terminalRow(parseResponseId(id));
  const recent = ids.length;
  ids.push(...(await insertEarlier(gw, alice, 3, 2)), ...(await insertEarlier(gw, alice, 5, 3)));
  return {
    alice,
    bob,
    ids,
    recent,
    earlierHours: 2,
    xssId,
    byModel: { 'model-a': 9, 'model-b': 4, 'dev-status-500': 2 },
    byUser: { [names.alice]: 9, [names.bob]: 6 },
    failures: 2,
  };
}

/** `n` completed model-a requests of `key`'s user, `hoursAgo` hours ago (a test-only shortcut to the past). */
async function insertEarlier(gw: TestGateway, key: TestKey, hoursAgo: number, n: number): Promise<string[]> {
  const { rows } = await gw.t.pool.query<{ id: string }>(
    `WITH b AS (INSERT INTO batches (id, created_by, endpoint, completion_window)
                SELECT gen_random_uuid(), $1, '/v1/chat/completions', '0s' FROM generate_series(1, $3) RETURNING id),
          t AS (SELECT now() - make_interval(hours => $4) AS at)
     INSERT INTO requests (id, batch_id, state, endpoint, model, body, created_by, api_key_id, response_status, response_body,
                           completed_at, prompt_tokens, completion_tokens, total_tokens, duration_ms, received_at, finished_at, created_at)
     SELECT gen_random_uuid(), b.id, 'completed', '/v1/chat/completions', 'model-a',
            '{"model":"model-a","messages":[{"role":"user","content":"earlier"}]}', $1, $2, 200, '{}',
            t.at, 3, 4, 7, 40 + 10 * $4, t.at, t.at, t.at
     FROM b, t
     RETURNING id`,
    [key.userId, key.id, n, hoursAgo],
  );
  return rows.map((r) => `resp_${r.id}`);
}
