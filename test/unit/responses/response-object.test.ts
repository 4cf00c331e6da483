import { describe, expect, it } from 'vitest';
import type { RequestRow } from '../../../src/db/schema/requests.ts';
import { serializeFailureReason, trackingLost } from '../../../src/responses/failure-reason.ts';
import { responseStatusForState, type ResponseDetail } from '../../../src/responses/response-object.ts';
import { chatBody, completed, detail, finishedAt, requestBody, respond, responsesBody, uuid } from './response-fixtures.ts';

// Compile-time check (npm run typecheck): a `requests` row can be mapped as it is.
const rowIsDetail: (row: RequestRow) => ResponseDetail = (row) => row;
void rowIsDetail;

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
    expect(respond(detail({ state }))).toMatchObject({
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
      incomplete_details: null,
    });
  });

  it('reports a completed row as completed', () => {
    expect(respond(completed(JSON.stringify(responsesBody))).status).toBe('completed');
  });

  it('reports a canceled row as cancelled at its canceled_at, with no error', () => {
    const object = respond(detail({ state: 'canceled', canceledAt: finishedAt }));
    expect(object.status).toBe('cancelled');
    expect(object.completed_at).toBe(1740830405);
    expect(object.error).toBeNull();
    expect(object.output).toEqual([]);
  });

  it('reports an unknown state as failed with an unknown_state error', () => {
    const object = respond(detail({ state: 'exploded', failedAt: finishedAt }));
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
    const object = respond(detail());
    expect(object.id).toBe(`resp_${uuid}`);
    expect(object.object).toBe('response');
  });

  it('gives created_at and completed_at in whole unix seconds', () => {
    const object = respond(completed(JSON.stringify(responsesBody)));
    expect(object.created_at).toBe(1740830400);
    expect(object.completed_at).toBe(1740830405);
    expect(Number.isInteger(object.created_at)).toBe(true);
  });

  it('gives a failed row failed_at as its completed_at', () => {
    const object = respond(
      detail({ state: 'failed', failedAt: finishedAt, error: serializeFailureReason(trackingLost()) }),
    );
    expect(object.completed_at).toBe(1740830405);
  });

  it('copies model and service_tier from the row', () => {
    const object = respond(detail({ model: 'other-model', serviceTier: 'default' }));
    expect(object.model).toBe('other-model');
    expect(object.service_tier).toBe('default');
    // A row without a tier (the column is NOT NULL today) reports the request's, else `default`.
    expect(respond(detail({ serviceTier: null })).service_tier).toBe('flex');
    expect(respond(detail({ serviceTier: null, body: '{"model":"m"}' })).service_tier).toBe('default');
  });

  it('takes background from the stored request body', () => {
    expect(respond(detail({ background: true, body: '{"model":"m","background":false}' })).background).toBe(
      false,
    );
    expect(respond(detail({ background: false, body: '{"model":"m","background":true}' })).background).toBe(
      true,
    );
  });

  it('falls back to the background column when the body does not say', () => {
    expect(respond(detail({ background: true, body: '{"model":"m"}' })).background).toBe(true);
    expect(respond(detail({ background: false, body: 'not json' })).background).toBe(false);
    expect(respond(detail({ background: true, body: null })).background).toBe(true);
    expect(respond(detail({ background: false, body: '{"background":"yes"}' })).background).toBe(false);
  });
});

describe('completed with a Responses API body', () => {
  it('copies output and usage', () => {
    const object = respond(completed(JSON.stringify(responsesBody)));
    expect(object.output).toEqual(responsesBody.output);
    expect(object.usage).toEqual(responsesBody.usage);
    expect(object.error).toBeNull();
  });

  it('keeps the gateway id rather than the upstream one', () => {
    expect(respond(completed(JSON.stringify(responsesBody))).id).toBe(`resp_${uuid}`);
  });

  it('copies output_text only when the body has it', () => {
    expect(respond(completed(JSON.stringify(responsesBody)))).not.toHaveProperty('output_text');
    const withText = respond(completed(JSON.stringify({ ...responsesBody, output_text: 'Hello!' })));
    expect(withText.output_text).toBe('Hello!');
  });

  it('fills a missing total_tokens and the details the specification requires', () => {
    const body = { ...responsesBody, usage: { input_tokens: 4, output_tokens: 6 } };
    expect(respond(completed(JSON.stringify(body))).usage).toEqual({
      input_tokens: 4,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 6,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 10,
    });
  });

  it('builds usage from the columns when the body has none', () => {
    const body = { object: 'response', output: [] };
    const object = respond(
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
    const object = respond(
      completed(JSON.stringify(responsesBody), { promptTokens: 100, completionTokens: 100, totalTokens: 200 }),
    );
    expect(object.usage?.total_tokens).toBe(7);
  });

  it('reports null usage when neither body nor columns have any', () => {
    expect(respond(completed('{"object":"response","output":[]}')).usage).toBeNull();
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
    const object = respond(completed(JSON.stringify(body)));
    expect(object.status).toBe('completed');
    expect(object.output).toEqual([]);
    expect(object.usage).toMatchObject({ input_tokens: 6, output_tokens: 0, total_tokens: 6 });
  });

  it('does not throw on a body that is not JSON: completed with no output', () => {
    const object = respond(completed('<html>oops</html>', { promptTokens: 1, completionTokens: 1, totalTokens: 2 }));
    expect(object.status).toBe('completed');
    expect(object.output).toEqual([]);
    expect(object.error).toBeNull();
    expect(object.usage).toMatchObject({ input_tokens: 1, output_tokens: 1, total_tokens: 2 });
  });

  it('does not throw on JSON of an unknown shape, an empty body or a null body', () => {
    for (const responseBody of ['[1,2,3]', '"text"', 'null', '{"foo":1}', '', '{"output":"not an array","object":"response"}']) {
      const object = respond(completed(responseBody));
      expect(object.status).toBe('completed');
      expect(object.output).toEqual([]);
    }
    expect(respond(detail({ state: 'completed', completedAt: finishedAt, responseStatus: 200 })).output).toEqual([]);
  });

  it('rebuilds the output of a captured Responses stream', () => {
    const sse = [
      `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { ...responsesBody, status: 'in_progress', output: [] } })}`,
      `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: responsesBody })}`,
      '',
    ].join('\n\n');
    const object = respond(completed(sse));
    expect(object.output).toEqual(responsesBody.output);
    expect(object.usage).toEqual(responsesBody.usage);
  });
});

describe('complete objects in every state', () => {
  const failure = serializeFailureReason(trackingLost());
  it.each([
    ['pending', detail()],
    ['claimed', detail({ state: 'claimed' })],
    ['processing', detail({ state: 'processing' })],
    ['completed, Responses body', completed(JSON.stringify(responsesBody))],
    ['completed, minimal Responses body', completed('{"output":[]}')],
    ['completed, chat body', completed('{"choices":[{"message":{"content":"x"}}]}')],
    ['completed, embeddings list', completed('{"object":"list","data":[],"usage":{"prompt_tokens":1}}')],
    ['completed, not JSON', completed('<html>')],
    ['completed, legacy 500', completed('oops', { responseStatus: 500 })],
    ['failed', detail({ state: 'failed', failedAt: finishedAt, error: failure })],
    ['failed, no reason', detail({ state: 'failed', failedAt: finishedAt })],
    ['canceled', detail({ state: 'canceled', canceledAt: finishedAt })],
    ['unknown state', detail({ state: 'exploded' })],
    ['a request body that is not JSON', detail({ body: 'not json' })],
    ['no request body', detail({ body: null })],
  ])('a %s row is a complete ResponseResource', (_name, row) => {
    expect(() => respond(row)).not.toThrow();
  });

  it('gives every setting the request left out its documented default', () => {
    expect(respond(detail({ body: '{"model":"gpt-test","input":"hi"}', background: false, serviceTier: 'default' }))).toMatchObject({
      instructions: null,
      tools: [],
      tool_choice: 'auto',
      text: { format: { type: 'text' } },
      truncation: 'disabled',
      temperature: 1,
      top_p: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      top_logprobs: 0,
      parallel_tool_calls: true,
      max_output_tokens: null,
      max_tool_calls: null,
      store: true,
      background: false,
      service_tier: 'default',
      metadata: {},
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      safety_identifier: null,
      prompt_cache_key: null,
      user: null,
    });
  });

  it('echoes the settings the request set, in every state', () => {
    const body = JSON.stringify({
      ...requestBody,
      instructions: 'Be brief.',
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object' }, strict: false }],
      temperature: 0.3,
      metadata: { team: 'search' },
      previous_response_id: 'resp_earlier',
      max_output_tokens: 256,
    });
    const expected = {
      instructions: 'Be brief.',
      tools: [{ type: 'function', name: 'lookup', description: null, parameters: { type: 'object' }, strict: false }],
      temperature: 0.3,
      metadata: { team: 'search' },
      previous_response_id: 'resp_earlier',
      max_output_tokens: 256,
    };
    expect(respond(detail({ body }))).toMatchObject(expected);
    expect(respond(detail({ state: 'canceled', canceledAt: finishedAt, body }))).toMatchObject(expected);
    expect(respond(completed(JSON.stringify(chatBody), { body }))).toMatchObject(expected);
  });
});
