import { describe, expect, it } from 'vitest';
import { toChatRequest } from '../../../../src/responses/chat/index.ts';

const base = { model: 'llama', input: 'Hi' };
const userHi = [{ role: 'user', content: 'Hi' }];

function chatOf(body: Record<string, unknown>, opts?: Parameters<typeof toChatRequest>[1]) {
  const result = toChatRequest(body, opts);
  if (!result.ok) throw new Error(`expected ok, got ${result.param}: ${result.message}`);
  return result.chat;
}

const weather = { type: 'function', name: 'weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true };
const chatWeather = { type: 'function', function: { name: 'weather', description: 'Weather for a city', parameters: weather.parameters, strict: true } };

describe('toChatRequest field mapping', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['a string input becomes one user message; model as is', {}, { model: 'llama', messages: userHi }],
    ['instructions become a leading system message', { instructions: 'Be brief.' }, { messages: [{ role: 'system', content: 'Be brief.' }, ...userHi] }],
    ['empty instructions add no message', { instructions: '' }, { messages: userHi }],
    ['temperature, top_p and penalties pass through', { temperature: 0.2, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: -0.5 }, { temperature: 0.2, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: -0.5 }],
    ['null sampling fields are left out', { temperature: null, top_p: null }, { messages: userHi }],
    ['max_output_tokens becomes max_tokens', { max_output_tokens: 64 }, { max_tokens: 64 }],
    ['parallel_tool_calls passes through', { parallel_tool_calls: false }, { parallel_tool_calls: false }],
    ['function tools are reshaped', { tools: [weather] }, { tools: [chatWeather] }],
    [
      'a function tool without description, parameters or strict keeps only its name',
      { tools: [{ type: 'function', name: 'now', parameters: null, strict: null }] },
      { tools: [{ type: 'function', function: { name: 'now' } }] },
    ],
    ['an empty tools list is left out', { tools: [] }, { messages: userHi }],
    ['tool_choice auto passes through', { tool_choice: 'auto' }, { tool_choice: 'auto' }],
    ['tool_choice none passes through', { tool_choice: 'none' }, { tool_choice: 'none' }],
    ['tool_choice required passes through', { tool_choice: 'required' }, { tool_choice: 'required' }],
    ['a named function tool_choice is reshaped', { tools: [weather], tool_choice: { type: 'function', name: 'weather' } }, { tool_choice: { type: 'function', function: { name: 'weather' } } }],
    [
      'allowed_tools narrows the tools and keeps its mode',
      { tools: [weather, { type: 'function', name: 'now' }], tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'weather' }] } },
      { tools: [chatWeather], tool_choice: 'required' },
    ],
    [
      'text.format json_schema becomes response_format json_schema',
      { text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true, description: 'The answer' } } },
      { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true, description: 'The answer' } } },
    ],
    ['text.format json_object becomes response_format json_object', { text: { format: { type: 'json_object' } } }, { response_format: { type: 'json_object' } }],
    ['text.format text sends no response_format', { text: { format: { type: 'text' }, verbosity: 'low' } }, { messages: userHi }],
    ['user becomes user', { user: 'u-1' }, { user: 'u-1' }],
    ['safety_identifier becomes user', { safety_identifier: 's-1' }, { user: 's-1' }],
    ['safety_identifier wins over user', { user: 'u-1', safety_identifier: 's-1' }, { user: 's-1' }],
    ['stream true asks for usage on the last chunk', { stream: true }, { stream: true, stream_options: { include_usage: true } }],
    ['stream false sends no stream fields', { stream: false }, { messages: userHi }],
  ];
  it.each(cases)('%s', (_name, fields, expected) => {
    expect(chatOf({ ...base, ...fields })).toMatchObject(expected);
  });

  it('sends nothing for fields chat-only engines cannot use', () => {
    const chat = chatOf({
      ...base,
      metadata: { k: 'v' },
      previous_response_id: 'resp_1',
      store: true,
      background: false,
      service_tier: 'flex',
      truncation: 'auto',
      include: ['reasoning.encrypted_content'],
      reasoning: { effort: 'low' },
      stream: false,
    });
    expect(chat).toEqual({ model: 'llama', messages: userHi });
  });

  it('puts max_output_tokens in max_completion_tokens when asked to', () => {
    const chat = chatOf({ ...base, max_output_tokens: 64 }, { maxTokensField: 'max_completion_tokens' });
    expect(chat).toMatchObject({ max_completion_tokens: 64 });
    expect(chat).not.toHaveProperty('max_tokens');
  });

  it('sends developer messages as system messages unless asked to keep the role', () => {
    const body = { ...base, input: [{ role: 'developer', content: 'Rules' }] };
    expect(chatOf(body).messages).toEqual([{ role: 'system', content: 'Rules' }]);
    expect(chatOf(body, { developerRole: 'developer' }).messages).toEqual([{ role: 'developer', content: 'Rules' }]);
  });
});

describe('toChatRequest refusals', () => {
  const cases: Array<[string, unknown, string]> = [
    ['a body that is not an object', 'hello', 'body'],
    ['a missing model', { input: 'Hi' }, 'model'],
    ['a model that is not a string', { model: 7, input: 'Hi' }, 'model'],
    ['a temperature that is not a number', { ...base, temperature: 'hot' }, 'temperature'],
    ['a fractional max_output_tokens', { ...base, max_output_tokens: 1.5 }, 'max_output_tokens'],
    ['a negative max_output_tokens', { ...base, max_output_tokens: -1 }, 'max_output_tokens'],
    ['a stream flag that is not a boolean', { ...base, stream: 'yes' }, 'stream'],
    ['no input at all', { model: 'llama' }, 'input'],
    ['an empty input list', { model: 'llama', input: [] }, 'input'],
    ['instructions that are not a string', { ...base, instructions: ['x'] }, 'instructions'],
    ['a hosted tool', { ...base, tools: [weather, { type: 'web_search' }] }, 'tools'],
    ['a custom tool', { ...base, tools: [{ type: 'custom', name: 'grammar' }] }, 'tools'],
    ['tools that are not a list', { ...base, tools: { type: 'function' } }, 'tools'],
    ['a function tool without a name', { ...base, tools: [{ type: 'function', parameters: {} }] }, 'tools[0].name'],
    ['a hosted-tool tool_choice', { ...base, tool_choice: { type: 'web_search_preview' } }, 'tool_choice'],
    ['an unknown tool_choice string', { ...base, tool_choice: 'sometimes' }, 'tool_choice'],
    ['a function tool_choice without a name', { ...base, tool_choice: { type: 'function' } }, 'tool_choice.name'],
    ['allowed_tools naming a hosted tool', { ...base, tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'file_search' }] } }, 'tool_choice.tools[0].type'],
    ['a json_schema format without a schema', { ...base, text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.schema'],
    ['a json_schema format without a name', { ...base, text: { format: { type: 'json_schema', schema: {} } } }, 'text.format.name'],
    ['an unknown text format', { ...base, text: { format: { type: 'grammar' } } }, 'text.format'],
  ];
  it.each(cases)('answers ok:false for %s', (_name, body, param) => {
    const result = toChatRequest(body);
    expect(result).toMatchObject({ ok: false, param });
    if (!result.ok) expect(result.message).not.toBe('');
  });

  it('never throws, whatever the body', () => {
    const odd = [null, undefined, 0, [], { model: 'm', input: [null, 1, 'x'] }, { model: 'm', input: [{ type: 'message' }] }, { model: 'm', input: 'x', tools: [null] }];
    for (const body of odd) expect(() => toChatRequest(body)).not.toThrow();
  });
});
