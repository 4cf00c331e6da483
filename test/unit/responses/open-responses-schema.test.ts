import { describe, expect, it } from 'vitest';
import {
  expectResponseResource,
  RESPONSE_RESOURCE_REQUIRED,
  responseResourceViolations,
} from '../../helpers/open-responses-schema.ts';

// The specification's own example, with the required fields it leaves out filled in.
function valid(): Record<string, unknown> {
  return {
    id: 'resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41',
    object: 'response',
    created_at: 1741476777,
    completed_at: 1741476778,
    status: 'completed',
    incomplete_details: null,
    model: 'gpt-4o-2024-08-06',
    previous_response_id: null,
    instructions: null,
    output: [
      {
        type: 'message',
        id: 'msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'A boardwalk.', annotations: [] }],
      },
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'lookup', arguments: '{}', status: 'completed' },
    ],
    error: null,
    tools: [{ type: 'function', name: 'lookup', description: null, parameters: null, strict: true }],
    tool_choice: 'auto',
    truncation: 'disabled',
    parallel_tool_calls: true,
    text: { format: { type: 'text' } },
    top_p: 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    top_logprobs: 0,
    temperature: 1,
    reasoning: { effort: null, summary: null },
    usage: {
      input_tokens: 328,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 52,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 380,
    },
    max_output_tokens: null,
    max_tool_calls: null,
    store: true,
    background: false,
    service_tier: 'default',
    metadata: {},
    safety_identifier: null,
    prompt_cache_key: null,
  };
}

describe('the ResponseResource schema', () => {
  it('accepts a complete object, with fields the specification does not know', () => {
    expect(responseResourceViolations(valid())).toEqual([]);
    expect(responseResourceViolations({ ...valid(), output_text: 'A boardwalk.', user: null, x_vendor: 1 })).toEqual([]);
  });

  it('lists the specification’s 31 required fields', () => {
    expect(new Set(RESPONSE_RESOURCE_REQUIRED).size).toBe(31);
    expect(Object.keys(valid()).sort()).toEqual([...RESPONSE_RESOURCE_REQUIRED].sort());
  });

  it.each(RESPONSE_RESOURCE_REQUIRED)('rejects an object without %s', (field) => {
    const object = valid();
    delete object[field];
    expect(responseResourceViolations(object)).toEqual([`${field}: missing`]);
    expect(() => expectResponseResource(object)).toThrow(`${field}: missing`);
  });

  it.each([
    ['status outside the known values', { status: 'done' }, 'status'],
    ['an object type other than response', { object: 'chat.completion' }, 'object'],
    ['a fractional created_at', { created_at: 1741476777.5 }, 'created_at'],
    ['an error with a numeric code', { status: 'failed', error: { code: 429, message: 'slow down' } }, 'error.code'],
    ['an error without a message', { error: { code: 'server_error' } }, 'error.message'],
    ['usage without its details', { usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 } }, 'usage.input_tokens_details'],
    ['incomplete_details without a reason', { incomplete_details: {} }, 'incomplete_details.reason'],
    ['a function tool without strict', { tools: [{ type: 'function', name: 'f', description: null, parameters: null }] }, 'tools[0].strict'],
    ['a tool_choice mode it does not know', { tool_choice: 'sometimes' }, 'tool_choice'],
    ['a text format it does not know', { text: { format: { type: 'yaml' } } }, 'text.format.type'],
    ['reasoning without summary', { reasoning: { effort: 'low' } }, 'reasoning.summary'],
    ['a null service_tier', { service_tier: null }, 'service_tier'],
    ['metadata that is not a map of strings', { metadata: { n: 1 } }, 'metadata.n'],
    ['a null temperature', { temperature: null }, 'temperature'],
  ])('rejects %s', (_name, change, path) => {
    const problems = responseResourceViolations({ ...valid(), ...change });
    expect(problems.some((p) => p.startsWith(`${path}:`)), problems.join('\n')).toBe(true);
  });

  it('checks the items of the types it knows, to the content part', () => {
    const object = valid();
    object.output = [
      { type: 'message', id: 'm', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'x' }] },
      { type: 'function_call', id: 'fc', name: 'f', arguments: '{}', status: 'done' },
    ];
    const problems = responseResourceViolations(object);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^output\[0\]\.content\[0\]\.annotations:/),
        expect.stringMatching(/^output\[1\]\.call_id:/),
        expect.stringMatching(/^output\[1\]\.status:/),
      ]),
    );
  });

  it('lets items and tools of types it does not list through, but not untyped ones', () => {
    const object = valid();
    object.output = [{ type: 'web_search_call', id: 'ws_1', status: 'completed' }];
    object.tools = [{ type: 'web_search' }];
    object.tool_choice = { type: 'file_search' };
    expect(responseResourceViolations(object)).toEqual([]);
    object.output = [{ id: 'no type' }];
    expect(responseResourceViolations(object)).toEqual([expect.stringMatching(/^output\[0\]\.type:/)]);
  });

  it('names every violation at once in the error it throws', () => {
    const object = valid();
    delete object.store;
    object.status = 'done';
    let message = '';
    try {
      expectResponseResource(object);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('store: missing');
    expect(message).toContain('status:');
    expect(message).toContain(String(object.id));
    expect(() => expectResponseResource('not an object')).toThrow('(root)');
  });
});
