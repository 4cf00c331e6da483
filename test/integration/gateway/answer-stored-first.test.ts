// With DURABILITY=strict, and on /v1/responses always, an answer's final bytes go out only
// once its completion is committed: a client holding the whole answer finds it stored (a
// gateway killed right after answering loses nothing), and GET right after the POST answers
// `completed` (read-your-writes, DESIGN 11).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { findRequestDetail } from '../../../src/store/requests/find.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';

let strict: TestGateway;
let fast: TestGateway;
let strictKey: TestKey;
let fastKey: TestKey;
beforeAll(async () => {
  strict = await startTestGateway({ env: { DURABILITY: 'strict' } });
  fast = await startTestGateway();
  strictKey = await strict.createKey();
  fastKey = await fast.createKey();
});
afterAll(async () => {
  await strict?.close();
  await fast?.close();
});

const stateRightAfter = async (gw: TestGateway, res: Response) => {
  await res.text();
  const row = await findRequestDetail(gw.t.db, parseResponseId(res.headers.get('x-volley-response-id')!));
  return row?.state;
};

const post = (gw: TestGateway, key: TestKey, path: string, body: object) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('DURABILITY=strict', () => {
  it.each([false, true])('a chat answer (stream: %s) is completed in the database when the client has it whole', async (stream) => {
    for (let i = 0; i < 20; i++) {
      const res = await post(strict, strictKey, '/v1/chat/completions', {
        model: 'dev-model',
        stream,
        messages: [{ role: 'user', content: `strict ${i}` }],
      });
      expect(res.status).toBe(200);
      expect(await stateRightAfter(strict, res)).toBe('completed');
    }
  });
});

describe('/v1/responses, whatever the durability', () => {
  it.each([false, true])('an answer (stream: %s) is completed in the database when the client has it whole', async (stream) => {
    for (let i = 0; i < 20; i++) {
      const res = await post(fast, fastKey, '/v1/responses', { model: 'dev-model', stream, input: `fast ${i}` });
      expect(res.status).toBe(200);
      expect(await stateRightAfter(fast, res)).toBe('completed');
    }
  });

  it('GET right after the answer says completed, with the same output', async () => {
    const client = fast.client(fastKey.key);
    for (let i = 0; i < 20; i++) {
      const created = await client.responses.create({ model: 'dev-model', input: `read your write ${i}` });
      const got = await client.responses.retrieve(created.id);
      expect(got.status).toBe('completed');
      expect(got.output_text).toBe(created.output_text);
    }
  });
});
