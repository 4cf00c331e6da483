import { describe, expect, it } from 'vitest';
import type { RequestRow } from '../../../src/db/schema/requests.ts';
import { nonRetriableHttpStatus, serializeFailureReason, trackingLost } from '../../../src/responses/failure-reason.ts';
import {
  responseStatusForState,
  toResponseObject,
  type ResponseDetail,
  newRequestDetail,
} from '../../../src/responses/response-object.ts';

const uuid = '0191f3a4-6b2c-7d3e-8f40-123456789abc';
const hex = '0191f3a46b2c7d3e8f40123456789abc';
const createdAt = new Date('2025-03-01T12:00:00.750Z'); // 1740830400.75
const finishedAt = new Date('2025-03-01T12:00:05.999Z'); // 1740830405.999

// Compile-time check (npm run typecheck): a `requests` row can be mapped as it is.
const rowIsDetail: (row: RequestRow) => ResponseDetail = (row) => row;
void rowIsDetail;

function detail(overrides: Partial<ResponseDetail> = {}): ResponseDetail {
  return {
    ...newRequestDetail({
      id: uuid,
      model: 'gpt-test',
      serviceTier: 'flex',
      background: true,
      body: JSON.stringify({ model: 'gpt-test', input: 'hi', background: true, service_tier: 'flex' }),
      createdAt,
    }),
    ...overrides,
  };
}

function completed(responseBody: string, overrides: Partial<ResponseDetail> = {}): ResponseDetail {
  return detail({ state: 'completed', completedAt: finishedAt, responseStatus: 200, responseBody, ...overrides });
}

const responsesBody = {
  id: 'resp_upstream',
  object: 'response',
  status: 'completed',
  model: 'gpt-test',
  output: [
    {
      type: 'message',
      id: 'msg_upstream',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hello!', annotations: [] }],
    },
  ],
  usage: {
    input_tokens: 5,
    input_tokens_details: { cached_tokens: 1 },
    output_tokens: 2,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 7,
  },
};

const chatBody = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1740830401,
  model: 'gpt-test',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
};

describe('status from state', () => {
  it.each([
    ['pending', 'queued'],
    ['claimed', 'in_progress'],
    ['processing', 'in_progress'],
    ['completed', 'completed'],
    ['failed', 'failed'],
    ['canceled', 'cancelled'],
    ['exploded', 'failed'],
    ['constructor', 'failed'],
  ])('%s is reported as %s', (state, status) => {
    expect(responseStatusForState(state)).toBe(status);
  });

  it.each([
    ['pending', 'queued'],
    ['claimed', 'in_progress'],
    ['processing', 'in_progress'],
  ])('a %s row is %s with no terminal fields', (state, status) => {
    expect(toResponseObject(detail({ state }))).toEqual({
      id: `resp_${uuid}`,
      object: 'response',
      created_at: 1740830400,
      status,
      model: 'gpt-test',
      background: true,
      service_tier: 'flex',
      output: [],
      completed_at: null,
      usage: null,
      error: null,
    });
  });

  it('reports a completed row as completed', () => {
    expect(toResponseObject(completed(JSON.stringify(responsesBody))).status).toBe('completed');
  });

  it('reports a canceled row as cancelled at its canceled_at, with no error', () => {
    const object = toResponseObject(detail({ state: 'canceled', canceledAt: finishedAt }));
    expect(object.status).toBe('cancelled');
    expect(object.completed_at).toBe(1740830405);
    expect(object.error).toBeNull();
    expect(object.output).toEqual([]);
  });

  it('reports an unknown state as failed with an unknown_state error', () => {
    const object = toResponseObject(detail({ state: 'exploded', failedAt: finishedAt }));
    expect(object.status).toBe('failed');
    expect(object.error).toEqual({
      type: 'server_error',
      code: 'unknown_state',
      message: "The request is in an unknown state 'exploded'",
    });
  });
});

describe('object fields', () => {
  it('uses resp_<uuid> as the id and the object type "response"', () => {
    const object = toResponseObject(detail());
    expect(object.id).toBe(`resp_${uuid}`);
    expect(object.object).toBe('response');
  });

  it('gives created_at and completed_at in whole unix seconds', () => {
    const object = toResponseObject(completed(JSON.stringify(responsesBody)));
    expect(object.created_at).toBe(1740830400);
    expect(object.completed_at).toBe(1740830405);
    expect(Number.isInteger(object.created_at)).toBe(true);
  });

  it('gives a failed row failed_at as its completed_at', () => {
    const object = toResponseObject(
      detail({ state: 'failed', failedAt: finishedAt, error: serializeFailureReason(trackingLost()) }),
    );
    expect(object.completed_at).toBe(1740830405);
  });

  it('copies model and service_tier from the row', () => {
    const object = toResponseObject(detail({ model: 'other-model', serviceTier: 'default' }));
    expect(object.model).toBe('other-model');
    expect(object.service_tier).toBe('default');
    expect(toResponseObject(detail({ serviceTier: null })).service_tier).toBeNull();
  });

  it('takes background from the stored request body', () => {
    expect(toResponseObject(detail({ background: true, body: '{"model":"m","background":false}' })).background).toBe(
      false,
    );
    expect(toResponseObject(detail({ background: false, body: '{"model":"m","background":true}' })).background).toBe(
      true,
    );
  });

  it('falls back to the background column when the body does not say', () => {
    expect(toResponseObject(detail({ background: true, body: '{"model":"m"}' })).background).toBe(true);
    expect(toResponseObject(detail({ background: false, body: 'not json' })).background).toBe(false);
    expect(toResponseObject(detail({ background: true, body: null })).background).toBe(true);
    expect(toResponseObject(detail({ background: false, body: '{"background":"yes"}' })).background).toBe(false);
  });
});

describe('completed with a Responses API body', () => {
  it('copies output and usage', () => {
    const object = toResponseObject(completed(JSON.stringify(responsesBody)));
    expect(object.output).toEqual(responsesBody.output);
    expect(object.usage).toEqual(responsesBody.usage);
    expect(object.error).toBeNull();
  });

  it('keeps the gateway id rather than the upstream one', () => {
    expect(toResponseObject(completed(JSON.stringify(responsesBody))).id).toBe(`resp_${uuid}`);
  });

  it('copies output_text only when the body has it', () => {
    expect(toResponseObject(completed(JSON.stringify(responsesBody)))).not.toHaveProperty('output_text');
    const withText = toResponseObject(completed(JSON.stringify({ ...responsesBody, output_text: 'Hello!' })));
    expect(withText.output_text).toBe('Hello!');
  });

  it('fills a missing total_tokens from input and output', () => {
    const body = { ...responsesBody, usage: { input_tokens: 4, output_tokens: 6 } };
    expect(toResponseObject(completed(JSON.stringify(body))).usage).toEqual({
      input_tokens: 4,
      output_tokens: 6,
      total_tokens: 10,
    });
  });

  it('builds usage from the columns when the body has none', () => {
    const body = { object: 'response', output: [] };
    const object = toResponseObject(
      completed(JSON.stringify(body), { promptTokens: 11, completionTokens: 4, totalTokens: 15 }),
    );
    expect(object.usage).toEqual({
      input_tokens: 11,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 15,
    });
  });

  it('prefers the body usage to the columns', () => {
    const object = toResponseObject(
      completed(JSON.stringify(responsesBody), { promptTokens: 100, completionTokens: 100, totalTokens: 200 }),
    );
    expect(object.usage?.total_tokens).toBe(7);
  });

  it('reports null usage when neither body nor columns have any', () => {
    expect(toResponseObject(completed('{"object":"response","output":[]}')).usage).toBeNull();
  });
});

describe('completed with a chat-completion body', () => {
  it('wraps the first choice in one assistant message item', () => {
    const object = toResponseObject(completed(JSON.stringify(chatBody)));
    expect(object.output).toEqual([
      {
        type: 'message',
        id: `msg_${hex}`,
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Hi there', annotations: [] }],
      },
    ]);
    expect(object).not.toHaveProperty('output_text');
  });

  it('derives the message id from the response id, so it is the same on every read', () => {
    const first = toResponseObject(completed(JSON.stringify(chatBody)));
    const second = toResponseObject(completed(JSON.stringify(chatBody)));
    expect(first.output).toEqual(second.output);
    const other = toResponseObject(completed(JSON.stringify(chatBody), { id: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' }));
    expect((other.output[0] as { id: string }).id).toBe('msg_aaaaaaaabbbbccccddddeeeeeeeeeeee');
  });

  it('maps prompt/completion/total tokens to input/output/total tokens', () => {
    const object = toResponseObject(completed(JSON.stringify(chatBody)));
    expect(object.usage).toEqual({
      input_tokens: 9,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 12,
    });
  });

  it('carries cached and reasoning token details across', () => {
    const body = {
      ...chatBody,
      usage: {
        prompt_tokens: 20,
        completion_tokens: 8,
        total_tokens: 28,
        prompt_tokens_details: { cached_tokens: 16 },
        completion_tokens_details: { reasoning_tokens: 5 },
      },
    };
    expect(toResponseObject(completed(JSON.stringify(body))).usage).toEqual({
      input_tokens: 20,
      input_tokens_details: { cached_tokens: 16 },
      output_tokens: 8,
      output_tokens_details: { reasoning_tokens: 5 },
      total_tokens: 28,
    });
  });

  it('uses the usage columns when the chat body has no usage', () => {
    const { usage: _usage, ...body } = chatBody;
    const object = toResponseObject(completed(JSON.stringify(body), { promptTokens: 3, completionTokens: 2, totalTokens: null }));
    expect(object.usage).toMatchObject({ input_tokens: 3, output_tokens: 2, total_tokens: 5 });
  });

  it('maps a refusal to a refusal content part', () => {
    const body = { ...chatBody, choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'No.' } }] };
    expect(toResponseObject(completed(JSON.stringify(body))).output).toEqual([
      { type: 'message', id: `msg_${hex}`, status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] },
    ]);
  });

  it('maps tool calls to function_call items after the message', () => {
    const body = {
      ...chatBody,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
    };
    expect(toResponseObject(completed(JSON.stringify(body))).output).toEqual([
      {
        type: 'function_call',
        id: `fc_${hex}_0`,
        call_id: 'call_1',
        name: 'lookup',
        arguments: '{"q":"x"}',
        status: 'completed',
      },
    ]);
  });

  it('still produces one empty message item for a choice with no content', () => {
    const body = { ...chatBody, choices: [] };
    expect(toResponseObject(completed(JSON.stringify(body))).output).toEqual([
      { type: 'message', id: `msg_${hex}`, status: 'completed', role: 'assistant', content: [] },
    ]);
  });
});

describe('completed with other bodies', () => {
  it('maps an embeddings list to no output and its usage', () => {
    const body = {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
      model: 'embed',
      usage: { prompt_tokens: 6, total_tokens: 6 },
    };
    const object = toResponseObject(completed(JSON.stringify(body)));
    expect(object.status).toBe('completed');
    expect(object.output).toEqual([]);
    expect(object.usage).toMatchObject({ input_tokens: 6, output_tokens: 0, total_tokens: 6 });
  });

  it('does not throw on a body that is not JSON: completed with no output', () => {
    const object = toResponseObject(completed('<html>oops</html>', { promptTokens: 1, completionTokens: 1, totalTokens: 2 }));
    expect(object.status).toBe('completed');
    expect(object.output).toEqual([]);
    expect(object.error).toBeNull();
    expect(object.usage).toMatchObject({ input_tokens: 1, output_tokens: 1, total_tokens: 2 });
  });

  it('does not throw on JSON of an unknown shape, an empty body or a null body', () => {
    for (const responseBody of ['[1,2,3]', '"text"', 'null', '{"foo":1}', '', '{"output":"not an array","object":"response"}']) {
      const object = toResponseObject(completed(responseBody));
      expect(object.status).toBe('completed');
      expect(object.output).toEqual([]);
    }
    expect(toResponseObject(detail({ state: 'completed', completedAt: finishedAt, responseStatus: 200 })).output).toEqual([]);
  });

  it('rebuilds the output of a captured Responses stream', () => {
    const sse = [
      `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { ...responsesBody, status: 'in_progress', output: [] } })}`,
      `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: responsesBody })}`,
      '',
    ].join('\n\n');
    const object = toResponseObject(completed(sse));
    expect(object.output).toEqual(responsesBody.output);
    expect(object.usage).toEqual(responsesBody.usage);
  });
});

describe('upstream error statuses', () => {
  it('reports a legacy completed row with status >= 400 as failed, with the envelope message', () => {
    const body = JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } });
    const object = toResponseObject(completed(body, { responseStatus: 429 }));
    expect(object.status).toBe('failed');
    expect(object.error).toEqual({ type: 'rate_limit_error', code: 429, message: 'Rate limit reached' });
    expect(object.output).toEqual([]);
    expect(object.completed_at).toBe(1740830405);
  });

  it('reports a legacy completed row with a non-envelope body using the raw body', () => {
    const object = toResponseObject(completed('Bad Gateway', { responseStatus: 502 }));
    expect(object.status).toBe('failed');
    expect(object.error).toEqual({ type: 'server_error', code: 502, message: 'Bad Gateway' });
  });

  it('reports a failed row from its FailureReason error column', () => {
    const body = JSON.stringify({ error: { message: "Invalid value for 'temperature'", type: 'invalid_request_error' } });
    const object = toResponseObject(
      detail({
        state: 'failed',
        failedAt: finishedAt,
        responseStatus: 400,
        responseBody: body,
        error: serializeFailureReason(nonRetriableHttpStatus(400, body)),
      }),
    );
    expect(object.status).toBe('failed');
    expect(object.error).toEqual({ type: 'invalid_request_error', code: 400, message: "Invalid value for 'temperature'" });
  });

  it('reports a failed row with no error column from its response status and raw body', () => {
    const object = toResponseObject(
      detail({ state: 'failed', failedAt: finishedAt, responseStatus: 403, responseBody: 'forbidden', error: null }),
    );
    expect(object.error).toEqual({ type: 'permission_error', code: 403, message: 'forbidden' });
  });

  it('reports a failed row with no recorded reason as a generic server_error', () => {
    const object = toResponseObject(detail({ state: 'failed', failedAt: finishedAt }));
    expect(object.error).toEqual({
      type: 'server_error',
      code: null,
      message: 'The request failed without a recorded reason',
    });
  });

  it.each([
    ['FailureReason JSON', '{"type":"NonRetriableHttpStatus","details":{"status":404,"body":"gone"}}', { type: 'not_found_error', code: 404, message: 'gone' }],
    ['legacy text', 'Upstream returned 401: unauthorized', { type: 'authentication_error', code: 401, message: 'unauthorized' }],
    ['OpenAI envelope', '{"error":{"message":"no credits","type":"insufficient_credits","code":402}}', { type: 'insufficient_credits', code: 402, message: 'no credits' }],
    ['plain text', 'worker crashed', { type: 'server_error', code: null, message: 'worker crashed' }],
    ['TrackingLost', '{"type":"TrackingLost"}', expect.objectContaining({ type: 'server_error', code: 'tracking_lost' })],
  ])('parses a failed row whose error column is %s', (_name, error, expected) => {
    const object = toResponseObject(detail({ state: 'failed', failedAt: finishedAt, error }));
    expect(object.status).toBe('failed');
    expect(object.error).toEqual(expected);
  });

  it('reports usage columns on a failed row', () => {
    const object = toResponseObject(
      detail({ state: 'failed', failedAt: finishedAt, error: 'x', promptTokens: 2, completionTokens: 0, totalTokens: 2 }),
    );
    expect(object.usage).toMatchObject({ input_tokens: 2, output_tokens: 0, total_tokens: 2 });
  });
});
