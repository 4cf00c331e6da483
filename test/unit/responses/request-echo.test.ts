import { describe, expect, it } from 'vitest';
import { requestEcho } from '../../../src/responses/request-echo.ts';
import { completeResponseObject } from '../../../src/responses/resource.ts';
import { expectResponseResource } from '../../helpers/open-responses-schema.ts';

const defaults = {
  model: '',
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
};

describe('requestEcho defaults', () => {
  it.each([
    ['an empty object', {}],
    ['undefined', undefined],
    ['null', null],
    ['a string', 'hello'],
    ['an array', [1, 2]],
  ])('gives %s every documented default', (_name, body) => {
    expect(requestEcho(body)).toEqual(defaults);
  });
});

describe('requestEcho echoes what the request set', () => {
  it.each([
    ['model', 'gpt-test', 'gpt-test'],
    ['instructions', 'Be brief.', 'Be brief.'],
    ['tool_choice', 'required', 'required'],
    ['truncation', 'auto', 'auto'],
    ['temperature', 0, 0],
    ['top_p', 0.5, 0.5],
    ['presence_penalty', -1.5, -1.5],
    ['frequency_penalty', 2, 2],
    ['top_logprobs', 5, 5],
    ['parallel_tool_calls', false, false],
    ['max_output_tokens', 512, 512],
    ['max_tool_calls', 3, 3],
    ['store', false, false],
    ['background', true, true],
    ['service_tier', 'flex', 'flex'],
    ['metadata', { team: 'search' }, { team: 'search' }],
    ['previous_response_id', 'resp_1', 'resp_1'],
    ['reasoning', { effort: 'high', summary: 'auto' }, { effort: 'high', summary: 'auto' }],
    ['safety_identifier', 'user-hash', 'user-hash'],
    ['prompt_cache_key', 'k1', 'k1'],
    ['user', 'alice', 'alice'],
    ['text', { format: { type: 'json_object' }, verbosity: 'low' }, { format: { type: 'json_object' }, verbosity: 'low' }],
  ])('%s', (field, value, expected) => {
    expect(requestEcho({ [field]: value })).toEqual({ ...defaults, [field]: expected });
  });
});

describe('requestEcho falls back to the default for a value of the wrong type', () => {
  it.each([
    ['instructions', 42],
    ['instructions', [{ role: 'system', content: 'x' }]],
    ['tools', 'lookup'],
    ['tool_choice', 'sometimes'],
    ['tool_choice', { type: 'function' }],
    ['tool_choice', { type: 'allowed_tools' }],
    ['text', 'json'],
    ['text', { format: { type: 'yaml' } }],
    ['text', { format: { type: 'json_schema' } }],
    ['truncation', 'sometimes'],
    ['temperature', '0.2'],
    ['temperature', Number.NaN],
    ['top_p', null],
    ['top_logprobs', 2.5],
    ['parallel_tool_calls', 'yes'],
    ['max_output_tokens', '100'],
    ['max_output_tokens', 10.5],
    ['max_tool_calls', true],
    ['store', 'false'],
    ['background', 1],
    ['service_tier', 'turbo'],
    ['metadata', 'team=search'],
    ['metadata', null],
    ['previous_response_id', 7],
    ['reasoning', 'high'],
    ['safety_identifier', {}],
    ['prompt_cache_key', 1],
    ['user', false],
  ])('%s = %j', (field, value) => {
    expect(requestEcho({ [field]: value })).toEqual(defaults);
  });

  it('keeps the parts of a setting that are valid and defaults the rest', () => {
    expect(requestEcho({ metadata: { a: 'x', b: 1, c: null } }).metadata).toEqual({ a: 'x' });
    expect(requestEcho({ reasoning: { effort: 'extreme', summary: 'auto' } }).reasoning).toEqual({ effort: null, summary: 'auto' });
    expect(requestEcho({ reasoning: {} }).reasoning).toEqual({ effort: null, summary: null });
    expect(requestEcho({ text: { verbosity: 'loud' } }).text).toEqual({ format: { type: 'text' } });
    expect(requestEcho({ text: { format: null, verbosity: 'high' } }).text).toEqual({ format: { type: 'text' }, verbosity: 'high' });
  });

  it('never throws, and always yields a settings echo a complete object can carry', () => {
    const odd = [undefined, null, true, 0, -1, 1.5, '', 'x', [], [null, 1, 'a', {}], {}, { type: 1 }];
    for (const field of Object.keys(defaults)) {
      for (const value of odd) {
        const echo = requestEcho({ [field]: value });
        expectResponseResource(completeResponseObject(undefined, echo, { id: 'resp_x' }));
      }
    }
  });
});

describe('requestEcho normalises tools to the Responses shape', () => {
  it('fills description, parameters and strict on a function tool that leaves them out', () => {
    expect(requestEcho({ tools: [{ type: 'function', name: 'lookup' }] }).tools).toEqual([
      { type: 'function', name: 'lookup', description: null, parameters: null, strict: true },
    ]);
  });

  it('keeps what a function tool sets, including strict: false', () => {
    const tool = { type: 'function', name: 'lookup', description: 'Find it', parameters: { type: 'object' }, strict: false };
    expect(requestEcho({ tools: [tool] }).tools).toEqual([tool]);
  });

  it('reads the Chat Completions spelling, with the function nested', () => {
    const tool = { type: 'function', function: { name: 'lookup', description: 'Find it', parameters: { type: 'object' } } };
    expect(requestEcho({ tools: [tool] }).tools).toEqual([
      { type: 'function', name: 'lookup', description: 'Find it', parameters: { type: 'object' }, strict: true },
    ]);
  });

  it('replaces a description or parameters of the wrong type with null', () => {
    expect(requestEcho({ tools: [{ type: 'function', name: 'f', description: 3, parameters: 'schema' }] }).tools).toEqual([
      { type: 'function', name: 'f', description: null, parameters: null, strict: true },
    ]);
  });

  it('keeps other tool objects as given and drops entries that are not tools', () => {
    const hosted = { type: 'web_search', search_context_size: 'low' };
    const tools = [hosted, 'lookup', null, { name: 'no type' }, { type: 'function' }, { type: 'function', name: '' }];
    expect(requestEcho({ tools }).tools).toEqual([hosted]);
  });
});

describe('requestEcho reads tool_choice, text and reasoning in every spelling', () => {
  it.each([
    [{ type: 'function', name: 'lookup' }, { type: 'function', name: 'lookup' }],
    [{ type: 'function', function: { name: 'lookup' } }, { type: 'function', name: 'lookup' }],
    [
      { type: 'allowed_tools', tools: [{ type: 'function', name: 'a' }] },
      { type: 'allowed_tools', tools: [{ type: 'function', name: 'a' }], mode: 'auto' },
    ],
    [{ type: 'file_search' }, { type: 'file_search' }],
    ['none', 'none'],
  ])('tool_choice %j', (given, expected) => {
    expect(requestEcho({ tool_choice: given }).tool_choice).toEqual(expected);
  });

  it('completes a json_schema format with the fields the specification requires', () => {
    const format = { type: 'json_schema', name: 'answer', schema: { type: 'object' } };
    expect(requestEcho({ text: { format } }).text).toEqual({
      format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, description: null, strict: false },
    });
  });

  it('maps a chat response_format to text.format', () => {
    const responseFormat = { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } };
    expect(requestEcho({ response_format: responseFormat }).text).toEqual({
      format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, description: null, strict: true },
    });
    expect(requestEcho({ response_format: { type: 'json_object' } }).text).toEqual({ format: { type: 'json_object' } });
  });

  it('reads max_completion_tokens and max_tokens, preferring max_output_tokens', () => {
    expect(requestEcho({ max_tokens: 10 }).max_output_tokens).toBe(10);
    expect(requestEcho({ max_tokens: 10, max_completion_tokens: 20 }).max_output_tokens).toBe(20);
    expect(requestEcho({ max_completion_tokens: 20, max_output_tokens: 30 }).max_output_tokens).toBe(30);
  });

  it('reads a chat reasoning_effort', () => {
    expect(requestEcho({ reasoning_effort: 'low' }).reasoning).toEqual({ effort: 'low', summary: null });
    expect(requestEcho({ reasoning_effort: 'low', reasoning: { effort: 'high' } }).reasoning).toEqual({ effort: 'high', summary: null });
  });
});
