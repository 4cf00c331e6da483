// GET /v1/responses/{id}/input_items (DESIGN 11): a response's own input items, each with a
// stable id, paged by `after` / `limit` in either order; the owner's alone.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';

let gw: TestGateway;
let key: TestKey;
let client: OpenAI;

beforeAll(async () => {
  gw = await startTestGateway();
  key = await gw.createKey();
  client = gw.client(key.key);
});
afterAll(async () => {
  await gw?.close();
});

const texts = (items: OpenAI.Responses.ResponseItem[]) =>
  items.map((i) => ('content' in i && Array.isArray(i.content) ? (i.content[0] as { text: string }).text : i.type));

async function rawPage(id: string, query: string) {
  const res = await fetch(`${gw.url}/v1/responses/${id}/input_items?${query}`, { headers: { authorization: `Bearer ${key.key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('input_items', () => {
  const input: OpenAI.Responses.ResponseInput = [
    { role: 'developer', content: 'rules' },
    { role: 'user', content: 'm1' },
    { role: 'assistant', content: 'm2' },
    { role: 'user', content: [{ type: 'input_text', text: 'm3' }] },
    { role: 'user', content: 'm4' },
  ];

  it('pages newest first by default, and oldest first with order=asc, with stable ids', async () => {
    const created = await client.responses.create({ model: 'dev-model', input });

    const desc: OpenAI.Responses.ResponseItem[] = [];
    let page = await client.responses.inputItems.list(created.id, { limit: 2 });
    desc.push(...page.data);
    const firstPage = page;
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      desc.push(...page.data);
    }
    expect(texts(desc)).toEqual(['m4', 'm3', 'm2', 'm1', 'rules']);
    expect(firstPage.data).toHaveLength(2);

    const asc: OpenAI.Responses.ResponseItem[] = [];
    for await (const item of client.responses.inputItems.list(created.id, { limit: 2, order: 'asc' })) asc.push(item);
    expect(texts(asc)).toEqual(['rules', 'm1', 'm2', 'm3', 'm4']);

    // Every item has an id, unique, the same on every read and in either order.
    const ids = asc.map((i) => i.id);
    expect(new Set(ids).size).toBe(5);
    expect(desc.map((i) => i.id).reverse()).toEqual(ids);
    const again = await rawPage(created.id, 'order=asc&limit=100');
    expect((again.body.data as { id: string }[]).map((i) => i.id)).toEqual(ids);
  });

  it('answers the list envelope: first_id, last_id, has_more, and after', async () => {
    const created = await client.responses.create({ model: 'dev-model', input });
    const all = (await rawPage(created.id, 'order=asc')).body;
    const ids = (all.data as { id: string }[]).map((i) => i.id);
    expect(all).toMatchObject({ object: 'list', first_id: ids[0], last_id: ids[4], has_more: false });

    const p = (await rawPage(created.id, `order=asc&limit=2&after=${ids[1]}`)).body;
    expect(p).toMatchObject({ object: 'list', first_id: ids[2], last_id: ids[3], has_more: true });
    const last = (await rawPage(created.id, `order=asc&limit=2&after=${ids[3]}`)).body;
    expect(last).toMatchObject({ data: [expect.objectContaining({ id: ids[4] })], has_more: false });
    const end = (await rawPage(created.id, `order=desc&after=${ids[0]}`)).body;
    expect(end).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });

  it('a string input is one user message; earlier turns of a chain are not repeated', async () => {
    const first = await client.responses.create({ model: 'dev-model', input: 'first turn' });
    const second = await client.responses.create({ model: 'dev-model', input: 'second turn', previous_response_id: first.id });
    const page = await client.responses.inputItems.list(second.id);
    expect(page.data).toEqual([
      expect.objectContaining({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'second turn' }] }),
    ]);
    expect(page.data[0]!.id).toMatch(/^msg_/);
  });

  it('keeps tool items as sent', async () => {
    const created = await client.responses.create({
      model: 'dev-model',
      input: [
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{}', id: 'fc_own' },
        { type: 'function_call_output', call_id: 'call_1', output: 'found' },
      ],
    });
    const { data } = await client.responses.inputItems.list(created.id, { order: 'asc' });
    expect(data[0]).toMatchObject({ type: 'function_call', id: 'fc_own', call_id: 'call_1', name: 'lookup' });
    expect(data[1]).toMatchObject({ type: 'function_call_output', call_id: 'call_1', output: 'found' });
    expect(data[1]!.id).toEqual(expect.any(String));
  });

  it('another user\'s response is 404, a bad query 400', async () => {
    const created = await client.responses.create({ model: 'dev-model', input: 'private' });
    const other = await gw.createKey();
    const res = await fetch(`${gw.url}/v1/responses/${created.id}/input_items`, { headers: { authorization: `Bearer ${other.key}` } });
    expect(res.status).toBe(404);
    // The same answer GET gives for it.
    const get = await fetch(`${gw.url}/v1/responses/${created.id}`, { headers: { authorization: `Bearer ${other.key}` } });
    expect(get.status).toBe(404);
    expect(await res.json()).toEqual(await get.json());
    for (const q of ['limit=0', 'limit=101', 'order=sideways', 'limit=abc']) {
      const r = await rawPage(created.id, q);
      expect(r.status, q).toBe(400);
      expect(r.body).toMatchObject({ error: { type: 'invalid_request_error', param: expect.any(String) } });
    }
  });
});
