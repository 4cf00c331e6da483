import { describe, expect, it } from 'vitest';
import { decodeResponseBody } from '../../../src/responses/stored-body.ts';

function sse(events: unknown[], done = true): string {
  const blocks = events.map((event) => `data: ${JSON.stringify(event)}`);
  if (done) blocks.push('data: [DONE]');
  return `${blocks.join('\n\n')}\n\n`;
}

describe('decodeResponseBody', () => {
  it('parses a JSON body', () => {
    expect(decodeResponseBody('{"a":1}')).toEqual({ a: 1 });
  });

  it('answers undefined for text that is neither JSON nor an event stream', () => {
    expect(decodeResponseBody('oops')).toBeUndefined();
    expect(decodeResponseBody('')).toBeUndefined();
  });

  it('takes the last response snapshot of a Responses stream', () => {
    const text = [
      'event: response.created',
      `data: ${JSON.stringify({ type: 'response.created', response: { id: 'r', status: 'in_progress', output: [] } })}`,
      '',
      'event: response.output_text.delta',
      `data: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' })}`,
      '',
      'event: response.completed',
      `data: ${JSON.stringify({ type: 'response.completed', response: { id: 'r', status: 'completed', output: [{ type: 'message' }] } })}`,
      '',
      '',
    ].join('\n');
    expect(decodeResponseBody(text)).toEqual({ id: 'r', status: 'completed', output: [{ type: 'message' }] });
  });

  it('assembles chat chunks into a chat.completion, with usage from the final chunk', () => {
    const chunk = (delta: unknown, finish: string | null = null) => ({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const text = sse([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      { id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
    ]);
    expect(decodeResponseBody(text)).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });

  it('assembles streamed tool-call fragments', () => {
    const chunk = (toolCalls: unknown) => ({
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { tool_calls: toolCalls } }],
    });
    const text = sse([
      chunk([{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } }]),
      chunk([{ index: 0, function: { arguments: '{"q":' } }]),
      chunk([{ index: 0, function: { arguments: '"x"}' } }]),
    ]);
    const body = decodeResponseBody(text) as { choices: [{ message: { tool_calls: unknown } }] };
    expect(body.choices[0].message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
    ]);
  });

  it('answers undefined for a stream with no recognisable events', () => {
    expect(decodeResponseBody(sse([{ hello: 'world' }]))).toBeUndefined();
    expect(decodeResponseBody('data: not json\n\n')).toBeUndefined();
  });
});
