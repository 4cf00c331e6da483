import type { ChatCompletion } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { fromChatCompletion, toResponseUsage } from '../../../../src/responses/chat/index.ts';

const ctx = { responseId: 'resp_1', itemIdSeed: 'abc' };

function completion(message: Record<string, unknown>, finish = 'stop', usage?: unknown): ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', refusal: null, ...message }, logprobs: null, finish_reason: finish }],
    ...(usage === undefined ? {} : { usage }),
  } as ChatCompletion;
}

const textPart = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });
const message = (content: unknown[], status = 'completed') => ({ id: 'msg_abc', type: 'message', role: 'assistant', status, content });
const fc = (n: number, callId: string, name: string, args: string, status = 'completed') => ({
  id: `fc_abc_${n}`,
  type: 'function_call',
  call_id: callId,
  name,
  arguments: args,
  status,
});
const toolCall = (id: string, name: string, args: string) => ({ id, type: 'function', function: { name, arguments: args } });

describe('fromChatCompletion', () => {
  it('maps assistant text to one message item with an output_text part', () => {
    expect(fromChatCompletion(completion({ content: 'Hello!' }), ctx)).toEqual({
      status: 'completed',
      output: [message([textPart('Hello!')])],
      usage: null,
      incomplete_details: null,
      output_text: 'Hello!',
    });
  });

  it('joins content given as text parts', () => {
    const result = fromChatCompletion(completion({ content: [{ type: 'text', text: 'Hel' }, { type: 'text', text: 'lo' }] }), ctx);
    expect(result.output).toEqual([message([textPart('Hello')])]);
  });

  it('maps a tool call to a function_call item whose call_id is the chat tool call id', () => {
    const result = fromChatCompletion(completion({ content: null, tool_calls: [toolCall('call_9', 'weather', '{"city":"Oslo"}')] }, 'tool_calls'), ctx);
    expect(result).toMatchObject({ status: 'completed', output: [fc(0, 'call_9', 'weather', '{"city":"Oslo"}')], output_text: '' });
  });

  it('maps parallel tool calls to numbered function_call items after the text', () => {
    const result = fromChatCompletion(
      completion({ content: 'Checking both.', tool_calls: [toolCall('call_a', 'weather', '{}'), toolCall('call_b', 'time', '{"tz":"UTC"}')] }, 'tool_calls'),
      ctx,
    );
    expect(result.output).toEqual([message([textPart('Checking both.')]), fc(0, 'call_a', 'weather', '{}'), fc(1, 'call_b', 'time', '{"tz":"UTC"}')]);
  });

  it('gives a tool call without an id a deterministic call_id, and object arguments as JSON text', () => {
    const result = fromChatCompletion(completion({ tool_calls: [{ function: { name: 'f', arguments: { x: 1 } } }] }, 'tool_calls'), ctx);
    expect(result.output).toEqual([fc(0, 'call_abc_0', 'f', '{"x":1}')]);
  });

  it('skips tool calls that are not function calls or not objects', () => {
    const result = fromChatCompletion(completion({ tool_calls: [null, { id: 'c', type: 'custom', custom: { name: 'g', input: 'x' } }, toolCall('call_1', 'f', '{}')] }, 'tool_calls'), ctx);
    expect(result.output).toEqual([fc(0, 'call_1', 'f', '{}')]);
  });

  it('maps finish_reason length to an incomplete response with an incomplete message', () => {
    expect(fromChatCompletion(completion({ content: 'Once upon a' }, 'length'), ctx)).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      output: [message([textPart('Once upon a')], 'incomplete')],
    });
  });

  it('marks the tool calls, not the text before them, incomplete when the length cut them', () => {
    const result = fromChatCompletion(completion({ content: 'Let me check', tool_calls: [toolCall('call_1', 'f', '{"a":')] }, 'length'), ctx);
    expect(result.output).toEqual([message([textPart('Let me check')]), fc(0, 'call_1', 'f', '{"a":', 'incomplete')]);
  });

  it('maps finish_reason content_filter to an incomplete response', () => {
    expect(fromChatCompletion(completion({ content: '' }, 'content_filter'), ctx)).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'content_filter' },
    });
  });

  it('maps a refusal to a refusal part, next to any text', () => {
    expect(fromChatCompletion(completion({ content: null, refusal: 'I cannot help with that.' }), ctx).output).toEqual([
      message([{ type: 'refusal', refusal: 'I cannot help with that.' }]),
    ]);
    expect(fromChatCompletion(completion({ content: 'Sorry.', refusal: 'No.' }), ctx).output).toEqual([
      message([textPart('Sorry.'), { type: 'refusal', refusal: 'No.' }]),
    ]);
  });

  it('answers an empty message for an empty answer without tool calls', () => {
    expect(fromChatCompletion(completion({ content: null }), ctx).output).toEqual([message([textPart('')])]);
  });

  it('gives the same ids when the same answer is translated again', () => {
    const body = completion({ content: 'x', tool_calls: [toolCall('c', 'f', '{}')] }, 'tool_calls');
    expect(fromChatCompletion(body, ctx)).toEqual(fromChatCompletion(body, ctx));
    expect(fromChatCompletion(body, { ...ctx, itemIdSeed: 'other' }).output.map((i) => i.id)).toEqual(['msg_other', 'fc_other_0']);
  });

  it('maps usage, including cached and reasoning tokens', () => {
    const usage = {
      prompt_tokens: 100,
      completion_tokens: 40,
      total_tokens: 140,
      prompt_tokens_details: { cached_tokens: 64 },
      completion_tokens_details: { reasoning_tokens: 12 },
    };
    expect(fromChatCompletion(completion({ content: 'x' }, 'stop', usage), ctx).usage).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 64, cache_write_tokens: 0 },
      output_tokens: 40,
      output_tokens_details: { reasoning_tokens: 12 },
      total_tokens: 140,
    });
  });

  const odd: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'oops'],
    ['an empty object', {}],
    ['an error envelope', { error: { message: 'boom', type: 'server_error' } }],
    ['empty choices', { choices: [] }],
    ['choices that are not a list', { choices: 'x' }],
  ];
  it.each(odd)('answers an empty completed output for %s', (_name, body) => {
    expect(fromChatCompletion(body, ctx)).toEqual({ status: 'completed', output: [], usage: null, incomplete_details: null, output_text: '' });
  });

  it('reads a choice with a broken message as an empty answer', () => {
    expect(fromChatCompletion({ choices: [{ message: 'x', finish_reason: 7 }] }, ctx).output).toEqual([message([textPart('')])]);
    expect(fromChatCompletion({ choices: [null] }, ctx).output).toEqual([message([textPart('')])]);
  });
});

describe('toResponseUsage', () => {
  const cases: Array<[string, unknown, unknown]> = [
    ['no usage', undefined, null],
    ['usage that is not an object', 'x', null],
    ['usage with no counts', {}, null],
    [
      'details absent: zeros',
      { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      { input_tokens: 5, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 8 },
    ],
    [
      'a missing total: the sum',
      { prompt_tokens: 5, completion_tokens: 3 },
      { input_tokens: 5, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 8 },
    ],
    [
      'cache writes and null details',
      { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10, prompt_tokens_details: { cache_write_tokens: 4 }, completion_tokens_details: null },
      { input_tokens: 9, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 4 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 10 },
    ],
    [
      'nonsense counts read as absent',
      { prompt_tokens: -1, completion_tokens: 2.5, total_tokens: 'x', prompt_tokens_details: { cached_tokens: 'many' } },
      null,
    ],
  ];
  it.each(cases)('%s', (_name, usage, expected) => {
    expect(toResponseUsage(usage)).toEqual(expected);
  });
});
