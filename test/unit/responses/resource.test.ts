import { describe, expect, it } from 'vitest';
import { requestEcho } from '../../../src/responses/request-echo.ts';
import { completeResponseObject, normaliseUsage } from '../../../src/responses/resource.ts';
import { normaliseError, toResponseError } from '../../../src/responses/response-error.ts';
import { expectResponseResource } from '../../helpers/open-responses-schema.ts';

const echo = requestEcho({
  model: 'gpt-test',
  instructions: 'Be brief.',
  temperature: 0.2,
  tools: [{ type: 'function', name: 'lookup' }],
  background: true,
  service_tier: 'flex',
  store: true,
  previous_response_id: 'resp_prev',
});
const id = 'resp_0191f3a4-6b2c-7d3e-8f40-123456789abc';

const message = {
  type: 'message',
  id: 'msg_1',
  status: 'completed',
  role: 'assistant',
  content: [{ type: 'output_text', text: 'Hi', annotations: [] }],
};

describe('completeResponseObject', () => {
  it('makes a complete object from nothing but the echo, the overrides and the fallbacks', () => {
    const object = completeResponseObject(undefined, echo, { id, status: 'queued' }, { created_at: 1740830400 });
    expectResponseResource(object);
    expect(object).toMatchObject({
      id,
      object: 'response',
      status: 'queued',
      created_at: 1740830400,
      completed_at: null,
      model: 'gpt-test',
      instructions: 'Be brief.',
      temperature: 0.2,
      output: [],
      usage: null,
      error: null,
      incomplete_details: null,
    });
  });

  it('fills what a sparse upstream object leaves out, and keeps what it sent', () => {
    const upstream = { id: 'resp_upstream', output: [message], model: 'served-model', created_at: 1740830401 };
    const object = completeResponseObject(upstream, echo, { id });
    expectResponseResource(object);
    expect(object).toMatchObject({ id, output: [message], model: 'served-model', created_at: 1740830401, status: 'completed' });
    expect(object.tools).toEqual(echo.tools);
  });

  it('keeps fields the specification does not know', () => {
    const object = completeResponseObject({ output: [], output_text: 'Hi', conversation: { id: 'c' }, vendor: 1 }, echo, { id });
    expect(object).toMatchObject({ output_text: 'Hi', conversation: { id: 'c' }, vendor: 1 });
  });

  it('prefers the upstream’s valid settings to the echo', () => {
    const upstream = {
      instructions: 'Upstream instructions',
      temperature: 0.9,
      tools: [],
      tool_choice: 'none',
      truncation: 'auto',
      text: { format: { type: 'json_object' }, verbosity: 'medium' },
      reasoning: { effort: 'low', summary: null },
      metadata: { k: 'v' },
      max_output_tokens: 100,
      user: 'bob',
    };
    expect(completeResponseObject(upstream, echo, { id })).toMatchObject(upstream);
  });

  it('echoes the request where the upstream reports a setting as null', () => {
    const object = completeResponseObject({ instructions: null, temperature: null, tools: null, reasoning: null }, echo, { id });
    expect(object).toMatchObject({ instructions: 'Be brief.', temperature: 0.2, tools: echo.tools, reasoning: echo.reasoning });
  });

  it('replaces upstream fields of the wrong type', () => {
    const upstream = {
      object: 'chat.completion',
      status: 'done',
      created_at: '2025-03-01',
      temperature: 'hot',
      tools: [{ type: 'function', name: 'f' }],
      text: { format: { type: 'yaml' } },
      incomplete_details: { why: 'unknown' },
      metadata: { n: 1, s: 'x' },
      usage: { input_tokens: 1, output_tokens: 2 },
      error: { code: 502, message: 'bad gateway' },
    };
    const object = completeResponseObject(upstream, echo, { id }, { created_at: 5 });
    expectResponseResource(object);
    expect(object).toMatchObject({
      object: 'response',
      status: 'completed',
      created_at: 5,
      temperature: 0.2,
      tools: [{ type: 'function', name: 'f', description: null, parameters: null, strict: true }],
      text: echo.text,
      incomplete_details: null,
      metadata: { s: 'x' },
      usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3, input_tokens_details: { cached_tokens: 0 } },
      error: { code: 'server_error', message: 'bad gateway', http_status: 502 },
    });
  });

  it('takes background, service_tier, previous_response_id and store from the request, not the upstream', () => {
    const upstream = { background: false, service_tier: 'default', previous_response_id: null, store: false };
    expect(completeResponseObject(upstream, echo, { id })).toMatchObject({
      background: true,
      service_tier: 'flex',
      previous_response_id: 'resp_prev',
      store: true,
    });
  });

  it('lets overrides win, except an undefined one', () => {
    const upstream = { id: 'resp_upstream', status: 'in_progress', output: [message], usage: null };
    const usage = normaliseUsage({ input_tokens: 1, output_tokens: 1 })!;
    const object = completeResponseObject(upstream, echo, { id, status: 'cancelled', output: [], usage, error: undefined });
    expect(object).toMatchObject({ id, status: 'cancelled', output: [], usage, error: null });
  });

  it('uses a fallback only where the upstream has no valid value', () => {
    const fallbacks = { created_at: 1, completed_at: 2, model: 'row-model', usage: normaliseUsage({ input_tokens: 9, output_tokens: 9 })! };
    expect(completeResponseObject({}, echo, { id }, fallbacks)).toMatchObject(fallbacks);
    const upstream = { created_at: 10, completed_at: 20, model: 'served', usage: { input_tokens: 1, output_tokens: 1 } };
    expect(completeResponseObject(upstream, echo, { id }, fallbacks)).toMatchObject({
      created_at: 10,
      completed_at: 20,
      model: 'served',
      usage: { total_tokens: 2 },
    });
  });

  it.each([
    ['no upstream object', undefined],
    ['a sparse one', { output: [message] }],
    ['one with wrong types', { status: 7, tools: 'x', usage: { input_tokens: 1, output_tokens: 1 }, error: { code: 404, message: 'gone' } }],
    ['a full one', { ...completeResponseObject({ output: [message] }, echo, { id }), extra: true }],
  ])('gives the same object when applied again to its own result: %s', (_name, upstream) => {
    const once = completeResponseObject(upstream, echo, { id }, { created_at: 1 });
    expect(completeResponseObject(JSON.parse(JSON.stringify(once)) as Record<string, unknown>, echo, { id }, { created_at: 1 })).toEqual(once);
  });
});

describe('normaliseUsage', () => {
  it('fills the details the specification requires and a missing total, keeping what else it reports', () => {
    expect(normaliseUsage({ input_tokens: 3, output_tokens: 4, input_tokens_details: { cache_write_tokens: 1 }, cost: 0.1 })).toEqual({
      input_tokens: 3,
      input_tokens_details: { cache_write_tokens: 1, cached_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 7,
      cost: 0.1,
    });
  });

  it.each([null, 'x', {}, { input_tokens: 1 }, { input_tokens: -1, output_tokens: 1 }, { input_tokens: 1.5, output_tokens: 1 }])(
    'has no usage for %j',
    (value) => {
      expect(normaliseUsage(value)).toBeUndefined();
    },
  );
});

describe('the response error shape', () => {
  it.each([
    [{ type: 'rate_limit_error', code: 429, message: 'slow' }, { type: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'slow', http_status: 429 }],
    [{ type: 'server_error', code: 503, message: 'busy' }, { type: 'server_error', code: 'server_error', message: 'busy', http_status: 503 }],
    [{ type: 'server_error', code: 'timeout', message: 'late' }, { type: 'server_error', code: 'timeout', message: 'late' }],
    [{ type: 'invalid_request_error', code: null, message: 'bad' }, { type: 'invalid_request_error', code: 'invalid_request_error', message: 'bad' }],
    [{ code: null, message: 'odd' }, { code: 'server_error', message: 'odd' }],
    [{ code: 'server_error' }, { code: 'server_error', message: 'server_error' }],
  ])('%j becomes %j', (given, expected) => {
    expect(normaliseError(given)).toEqual(expected);
    expect(normaliseError(normaliseError(given))).toEqual(expected);
  });

  it('is not an error without a message or a code', () => {
    expect(normaliseError({ code: 500 })).toBeUndefined();
    expect(normaliseError('boom')).toBeUndefined();
    expect(toResponseError({ type: 'server_error', code: null, message: 'x' })).toEqual({ type: 'server_error', code: 'server_error', message: 'x' });
  });
});
