import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { createChatStreamTranslator, encodeSse, fromChatCompletion } from '../../../../src/responses/chat/index.ts';
import { chunk, ctx, finish, text, toolCall, translate, types, usageChunk } from './fixtures.ts';

const TEXT_ITEM = ['response.output_item.added', 'response.content_part.added'];
const TEXT_CLOSE = ['response.output_text.done', 'response.content_part.done', 'response.output_item.done'];
const usage = { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14, prompt_tokens_details: { cached_tokens: 8 }, completion_tokens_details: { reasoning_tokens: 2 } };

function ofType<T extends ResponseStreamEvent['type']>(events: ResponseStreamEvent[], type: T) {
  return events.filter((e): e is Extract<ResponseStreamEvent, { type: T }> => e.type === type);
}

function expectGapFree(events: ResponseStreamEvent[]) {
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
}

describe('createChatStreamTranslator', () => {
  it('streams text as one message item, one delta per chunk, then completes', () => {
    const { events, final } = translate([chunk({ role: 'assistant', content: '' }), text('Hel'), text('lo'), finish('stop')]);
    expect(types(events)).toEqual([
      'response.created',
      'response.in_progress',
      ...TEXT_ITEM,
      'response.output_text.delta',
      'response.output_text.delta',
      ...TEXT_CLOSE,
      'response.completed',
    ]);
    expectGapFree(events);
    expect(ofType(events, 'response.output_text.delta').map((e) => [e.delta, e.item_id, e.output_index, e.content_index])).toEqual([
      ['Hel', 'msg_seed', 0, 0],
      ['lo', 'msg_seed', 0, 0],
    ]);
    expect(ofType(events, 'response.output_text.done')[0]?.text).toBe('Hello');
    expect(final).toMatchObject({ status: 'completed', output_text: 'Hello', error: null, incomplete_details: null });
  });

  it('carries the complete response snapshot on lifecycle events', () => {
    const { events } = translate([text('Hi'), finish('stop'), usageChunk(usage)]);
    const created = ofType(events, 'response.created')[0];
    expect(created?.response).toMatchObject({ id: 'resp_test', status: 'in_progress', output: [], usage: null });
    const completed = ofType(events, 'response.completed')[0];
    expect(completed?.response).toMatchObject({ status: 'completed', output: [{ id: 'msg_seed', status: 'completed' }] });
    expect(completed?.response.usage).toMatchObject({ input_tokens: 10, output_tokens: 4, total_tokens: 14 });
  });

  it('streams tool calls only, keyed by index, with split argument fragments', () => {
    const { events, final } = translate([
      chunk({ role: 'assistant', content: null }),
      toolCall(0, { id: 'call_a', name: 'weather' }),
      toolCall(0, { arguments: '{"ci' }),
      toolCall(0, { arguments: 'ty":"Oslo"}' }),
      finish('tool_calls'),
    ]);
    expect(types(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(ofType(events, 'response.function_call_arguments.delta').map((e) => e.delta)).toEqual(['{"ci', 'ty":"Oslo"}']);
    expect(ofType(events, 'response.function_call_arguments.done')[0]).toMatchObject({ name: 'weather', arguments: '{"city":"Oslo"}', item_id: 'fc_seed_0' });
    expect(final.output).toEqual([
      { id: 'fc_seed_0', type: 'function_call', call_id: 'call_a', name: 'weather', arguments: '{"city":"Oslo"}', status: 'completed' },
    ]);
  });

  it('keeps interleaved parallel tool calls apart by index, in order of first appearance', () => {
    const { events, final } = translate([
      toolCall(0, { id: 'call_a', name: 'weather', arguments: '{"city":' }),
      toolCall(1, { id: 'call_b', name: 'time', arguments: '{"tz":' }),
      toolCall(0, { arguments: '"Oslo"}' }),
      toolCall(1, { arguments: '"UTC"}' }),
      finish('tool_calls'),
    ]);
    expect(ofType(events, 'response.output_item.added').map((e) => [e.output_index, e.item.id])).toEqual([
      [0, 'fc_seed_0'],
      [1, 'fc_seed_1'],
    ]);
    expect(final.output.map((i) => (i.type === 'function_call' ? [i.call_id, i.arguments] : null))).toEqual([
      ['call_a', '{"city":"Oslo"}'],
      ['call_b', '{"tz":"UTC"}'],
    ]);
  });

  it('closes the text item when a tool call starts, then streams the call', () => {
    const { events, final } = translate([text('Let me check.'), toolCall(0, { id: 'call_a', name: 'weather', arguments: '{}' }), finish('tool_calls')]);
    expect(types(events)).toEqual([
      'response.created',
      'response.in_progress',
      ...TEXT_ITEM,
      'response.output_text.delta',
      ...TEXT_CLOSE,
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(final.output.map((i) => [i.type, i.id])).toEqual([
      ['message', 'msg_seed'],
      ['function_call', 'fc_seed_0'],
    ]);
  });

  it('opens a new message item for text after a tool call', () => {
    const { final } = translate([toolCall(0, { id: 'c', name: 'f', arguments: '{}' }), text('Done.'), finish('stop')]);
    expect(final.output.map((i) => i.id)).toEqual(['fc_seed_0', 'msg_seed']);
    const { final: twice } = translate([text('A'), toolCall(0, { id: 'c', name: 'f' }), text('B'), finish('stop')]);
    expect(twice.output.map((i) => i.id)).toEqual(['msg_seed', 'fc_seed_0', 'msg_seed_1']);
  });

  it('tells apart tool calls sent whole without an index (by id)', () => {
    // Ollama-style: each call whole in one chunk, no `index` (so not a typed ChatCompletionChunk).
    const whole = (id: string, name: string) => ({
      choices: [{ index: 0, delta: { tool_calls: [{ id, type: 'function', function: { name, arguments: '{}' } }] }, finish_reason: null }],
    });
    const { final } = translate([whole('call_a', 'f'), whole('call_b', 'g'), finish('tool_calls')]);
    expect(final.output.map((i) => (i.type === 'function_call' ? i.call_id : i.type))).toEqual(['call_a', 'call_b']);
  });

  it('tells apart tool calls that all arrive as index 0 with their own ids', () => {
    const { final } = translate([
      toolCall(0, { id: 'call_a', name: 'f', arguments: '{"x":' }),
      toolCall(0, { arguments: '1}' }),
      toolCall(0, { id: 'call_b', name: 'g', arguments: '{}' }),
      finish('tool_calls'),
    ]);
    expect(final.output.map((i) => (i.type === 'function_call' ? [i.id, i.call_id, i.arguments] : i.type))).toEqual([
      ['fc_seed_0', 'call_a', '{"x":1}'],
      ['fc_seed_1', 'call_b', '{}'],
    ]);
    const late = translate([toolCall(0, { name: 'f', arguments: '{' }), toolCall(0, { id: 'call_late', arguments: '}' }), finish('tool_calls')]).final;
    expect(late.output.map((i) => (i.type === 'function_call' ? [i.call_id, i.arguments] : i.type))).toEqual([['call_seed_0', '{}']]);
  });

  it('ends incomplete with max_output_tokens on finish_reason length', () => {
    const { events, final } = translate([text('Once upon a'), finish('length')]);
    expect(types(events).at(-1)).toBe('response.incomplete');
    expect(ofType(events, 'response.output_item.done')[0]?.item).toMatchObject({ status: 'incomplete' });
    expect(final).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(ofType(events, 'response.incomplete')[0]?.response).toMatchObject({ incomplete_details: { reason: 'max_output_tokens' } });
  });

  it('ends incomplete with content_filter on finish_reason content_filter', () => {
    const { final } = translate([text('Hm'), finish('content_filter')]);
    expect(final).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } });
  });

  it('takes usage from the final chunk with empty choices', () => {
    const { final } = translate([text('Hi'), finish('stop'), usageChunk(usage)]);
    expect(final.usage).toEqual({
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 8, cache_write_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: 14,
    });
  });

  it('streams a refusal as a refusal part', () => {
    const { events, final } = translate([chunk({ refusal: 'I cannot' }), chunk({ refusal: ' help.' }), finish('stop')]);
    expect(ofType(events, 'response.refusal.delta').map((e) => e.delta)).toEqual(['I cannot', ' help.']);
    expect(ofType(events, 'response.refusal.done')[0]?.refusal).toBe('I cannot help.');
    expect(final.output).toEqual([{ id: 'msg_seed', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'refusal', refusal: 'I cannot help.' }] }]);
  });

  it('fails on an error chunk, keeping the partial item, and ignores everything after', () => {
    const t = createChatStreamTranslator(ctx);
    const events = [...t.push(text('Hal')), ...t.push({ error: { message: 'engine overloaded', type: 'server_error' } })];
    expect(types(events).at(-1)).toBe('response.failed');
    expect(ofType(events, 'response.failed')[0]?.response).toMatchObject({ status: 'failed', error: { code: 'server_error', message: 'engine overloaded' } });
    expect(t.push(text('more'))).toEqual([]);
    expect(t.end({ done: true })).toEqual([]);
    expect(t.final()).toMatchObject({ status: 'failed', output: [{ status: 'incomplete', content: [{ text: 'Hal' }] }], output_text: 'Hal' });
    expectGapFree(events);
  });

  it("reads vLLM's error object as an error chunk", () => {
    const { final } = translate([{ object: 'error', message: 'bad things', type: 'BadRequestError', code: 400 }]);
    expect(final).toMatchObject({ status: 'failed', error: { code: 'server_error', message: 'bad things' } });
  });

  it('fails a stream that ends without a finish reason and without [DONE]', () => {
    const { events, final } = translate([text('Half an ans')], {});
    expect(types(events).at(-1)).toBe('response.failed');
    expect(final).toMatchObject({ status: 'failed', error: { code: 'server_error' }, output: [{ status: 'incomplete' }] });
  });

  it('completes a stream that ends without a finish reason after [DONE]', () => {
    const { events, final } = translate([text('All of it')], { done: true });
    expect(types(events).slice(-4)).toEqual([...TEXT_CLOSE, 'response.completed']);
    expect(final).toMatchObject({ status: 'completed', output_text: 'All of it' });
  });

  it('completes a stream that had a finish reason even without [DONE]', () => {
    expect(translate([text('Hi'), finish('stop')], {}).final.status).toBe('completed');
  });

  it('fails an aborted stream with the given message', () => {
    const { final } = translate([text('Hi')], { aborted: true, message: 'upstream timed out' });
    expect(final).toMatchObject({ status: 'failed', error: { code: 'server_error', message: 'upstream timed out' } });
  });

  it('still emits created and in_progress when the upstream sent nothing', () => {
    const { events } = translate([], {});
    expect(types(events)).toEqual(['response.created', 'response.in_progress', 'response.failed']);
    expectGapFree(events);
  });

  it('answers an empty message item for a finished stream that had no content', () => {
    const { events, final } = translate([chunk({ role: 'assistant', content: '' }), finish('stop')]);
    expect(types(events)).toEqual(['response.created', 'response.in_progress', ...TEXT_ITEM, ...TEXT_CLOSE, 'response.completed']);
    expect(final.output).toEqual(fromChatCompletion({ choices: [{ message: { content: '' }, finish_reason: 'stop' }] }, ctx).output);
  });

  it('ignores content after the finish reason and odd chunks', () => {
    const { final } = translate([text('A'), null, 'junk', { choices: [{ index: 1, delta: { content: 'other choice' } }] }, finish('stop'), text('late')]);
    expect(final.output_text).toBe('A');
  });

  it('records the same answer as the non-streamed translation', () => {
    const answer = {
      choices: [
        {
          finish_reason: 'length',
          message: { content: 'Checking.', tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        },
      ],
      usage,
    };
    const { final } = translate([text('Check'), text('ing.'), toolCall(0, { id: 'call_a', name: 'f', arguments: '{"a":' }), toolCall(0, { arguments: '1}' }), finish('length'), usageChunk(usage)]);
    const { error, ...streamed } = final;
    expect(error).toBeNull();
    expect(streamed).toEqual(fromChatCompletion(answer, ctx));
  });

  it('encodes an event as SSE with its type as the event name', () => {
    const event = translate([text('Hi'), finish('stop')]).events[0];
    if (!event) throw new Error('no event');
    expect(encodeSse(event)).toBe(`event: response.created\ndata: ${JSON.stringify(event)}\n\n`);
  });
});
