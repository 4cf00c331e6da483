import { describe, expect, it } from 'vitest';
import { inputToMessages } from '../../../../src/responses/chat/index.ts';

function messagesOf(input: unknown, instructions?: unknown) {
  const result = inputToMessages(input, instructions);
  if (!result.ok) throw new Error(`expected ok, got ${result.param}: ${result.message}`);
  return result.messages;
}

const call = (callId: string, name = 'weather', args = '{"city":"Oslo"}') => ({ type: 'function_call', call_id: callId, name, arguments: args });
const output = (callId: string, out: unknown = 'sunny') => ({ type: 'function_call_output', call_id: callId, output: out });
const toolCall = (id: string, name = 'weather', args = '{"city":"Oslo"}') => ({ id, type: 'function', function: { name, arguments: args } });
const assistantSaid = (text: string) => ({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] });

describe('inputToMessages: messages', () => {
  const cases: Array<[string, unknown, unknown[]]> = [
    ['a string is one user message', 'Hi', [{ role: 'user', content: 'Hi' }]],
    [
      'easy messages of every role keep their string content',
      [
        { role: 'system', content: 'S' },
        { role: 'developer', content: 'D' },
        { role: 'user', content: 'U' },
        { role: 'assistant', content: 'A' },
      ],
      [
        { role: 'system', content: 'S' },
        { role: 'system', content: 'D' },
        { role: 'user', content: 'U' },
        { role: 'assistant', content: 'A' },
      ],
    ],
    [
      'text parts collapse to one string joined by newlines',
      [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'one' }, { type: 'input_text', text: 'two' }] }],
      [{ role: 'user', content: 'one\ntwo' }],
    ],
    ['an output message from an earlier turn becomes assistant text', [assistantSaid('Hello!')], [{ role: 'assistant', content: 'Hello!' }]],
    [
      'an earlier refusal is replayed as assistant text',
      [{ type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help.' }] }],
      [{ role: 'assistant', content: 'I cannot help.' }],
    ],
    [
      'an input_image becomes an image_url part next to its text',
      [{ role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: 'https://x/cat.png', detail: 'low' }] }],
      [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://x/cat.png', detail: 'low' } }] }],
    ],
    [
      "an image's 'original' detail has no chat equivalent and is left out",
      [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'original' }] }],
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }],
    ],
    ['no input gives no messages', undefined, []],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(messagesOf(input)).toEqual(expected);
  });

  it('puts instructions first as a system message', () => {
    expect(messagesOf([{ role: 'user', content: 'Hi' }], 'Be brief.')).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
  });
});

describe('inputToMessages: tool rounds', () => {
  it('turns a function call and its output into an assistant tool call and a tool message', () => {
    expect(messagesOf([{ role: 'user', content: 'Weather?' }, call('call_1'), output('call_1')])).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [toolCall('call_1')] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ]);
  });

  it('merges consecutive function calls into one assistant message', () => {
    expect(messagesOf([call('a', 'weather'), call('b', 'time', '{}'), output('a'), output('b', '12:00')])).toEqual([
      { role: 'assistant', content: null, tool_calls: [toolCall('a', 'weather'), toolCall('b', 'time', '{}')] },
      { role: 'tool', tool_call_id: 'a', content: 'sunny' },
      { role: 'tool', tool_call_id: 'b', content: '12:00' },
    ]);
  });

  it('attaches function calls to the assistant text directly before them', () => {
    expect(messagesOf([assistantSaid('Let me look.'), call('a')])).toEqual([
      { role: 'assistant', content: 'Let me look.', tool_calls: [toolCall('a')] },
    ]);
  });

  it('starts a new assistant message for calls after tool output, across several rounds', () => {
    const input = [
      { role: 'user', content: 'Plan my day' },
      assistantSaid('Checking.'),
      call('a'),
      output('a'),
      call('b', 'time', '{}'),
      output('b', '9:00'),
      assistantSaid('Sunny, 9:00.'),
      { role: 'user', content: 'Thanks' },
    ];
    expect(messagesOf(input)).toEqual([
      { role: 'user', content: 'Plan my day' },
      { role: 'assistant', content: 'Checking.', tool_calls: [toolCall('a')] },
      { role: 'tool', tool_call_id: 'a', content: 'sunny' },
      { role: 'assistant', content: null, tool_calls: [toolCall('b', 'time', '{}')] },
      { role: 'tool', tool_call_id: 'b', content: '9:00' },
      { role: 'assistant', content: 'Sunny, 9:00.' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('sends object arguments as JSON text and missing arguments as {}', () => {
    const input = [{ type: 'function_call', call_id: 'a', name: 'f', arguments: { x: 1 } }, { type: 'function_call', call_id: 'b', name: 'g' }];
    expect(messagesOf(input)[0]).toEqual({ role: 'assistant', content: null, tool_calls: [toolCall('a', 'f', '{"x":1}'), toolCall('b', 'g', '{}')] });
  });

  it('joins text parts of a function call output', () => {
    const out = output('a', [{ type: 'input_text', text: 'line 1' }, { type: 'input_text', text: 'line 2' }]);
    expect(messagesOf([call('a'), out])[1]).toEqual({ role: 'tool', tool_call_id: 'a', content: 'line 1\nline 2' });
  });

  it('drops reasoning and hosted-tool records between turns', () => {
    const input = [
      { role: 'user', content: 'Hi' },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'thinking' }] },
      { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'x' } },
      assistantSaid('Hello'),
    ];
    expect(messagesOf(input)).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
    ]);
  });

  it('drops an unknown item that carries no content', () => {
    expect(messagesOf([{ role: 'user', content: 'Hi' }, { type: 'future_marker', id: 'x' }])).toEqual([{ role: 'user', content: 'Hi' }]);
  });
});

describe('inputToMessages refusals', () => {
  const cases: Array<[string, unknown, string]> = [
    ['input that is neither a string nor a list', { role: 'user' }, 'input'],
    ['an item that is not an object', ['Hi'], 'input[0]'],
    ['a message without a role', [{ content: 'Hi' }], 'input[0].role'],
    ['a message with an unknown role', [{ role: 'tool', content: 'Hi' }], 'input[0].role'],
    ['message content that is neither a string nor parts', [{ role: 'user', content: 5 }], 'input[0].content'],
    ['a text part without text', [{ role: 'user', content: [{ type: 'input_text' }] }], 'input[0].content[0].text'],
    ['a part that is not an object', [{ role: 'user', content: ['x'] }], 'input[0].content[0]'],
    ['an unknown part type', [{ role: 'user', content: [{ type: 'input_video', url: 'x' }] }], 'input[0].content[0].type'],
    ['a file part', [{ role: 'user', content: [{ type: 'input_file', file_data: 'data:application/pdf;base64,AA' }] }], 'input[0].content[0]'],
    ['an image by file_id', [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1', detail: 'auto' }] }], 'input[0].content[0].file_id'],
    ['an image without a source', [{ role: 'user', content: [{ type: 'input_image', detail: 'auto' }] }], 'input[0].content[0].image_url'],
    ['an image in a system message', [{ role: 'system', content: [{ type: 'input_image', image_url: 'https://x/a.png' }] }], 'input[0].content[0]'],
    ['a function call without call_id', [{ type: 'function_call', name: 'f', arguments: '{}' }], 'input[0].call_id'],
    ['a function call without name', [{ type: 'function_call', call_id: 'a', arguments: '{}' }], 'input[0].name'],
    ['a function call output without call_id', [{ type: 'function_call_output', output: 'x' }], 'input[0].call_id'],
    ['a function call output that is not text', [call('a'), output('a', [{ type: 'input_image', image_url: 'https://x/a.png' }])], 'input[1].output[0]'],
    ['a computer call output (client content for a hosted tool)', [{ type: 'computer_call_output', call_id: 'c', output: { type: 'computer_screenshot', image_url: 'x' } }], 'input[0].type'],
    ['a custom tool call output', [{ type: 'custom_tool_call_output', call_id: 'c', output: 'done' }], 'input[0].type'],
    ['an item reference (content stored elsewhere)', [{ type: 'item_reference', id: 'msg_1' }], 'input[0].type'],
    ['an unknown item with content', [{ type: 'future_message', content: [{ type: 'input_text', text: 'Hi' }] }], 'input[0].type'],
  ];
  it.each(cases)('answers ok:false for %s', (_name, input, param) => {
    expect(inputToMessages(input, undefined)).toMatchObject({ ok: false, param });
  });
});
