import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { FunctionTool, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevUpstream, type DevUpstream } from '../../../src/dev-upstream/server.ts';
import { responseResourceViolations as responseResourceIssues } from '../../helpers/open-responses-schema.ts';

let up: DevUpstream;
let client: OpenAI;

beforeAll(async () => {
  up = await startDevUpstream({ port: 0 });
  client = new OpenAI({ baseURL: up.url, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await up.close();
});

const params = { type: 'object', properties: { city: { type: 'string' } } };
const tool = (name: string): FunctionTool => ({ type: 'function', name, parameters: params, strict: false });
const chatTool = (name: string): ChatCompletionTool => ({ type: 'function', function: { name, parameters: params } });
const TOOLS = [tool('get_weather'), tool('get_time')];
const CHAT_TOOLS = [chatTool('get_weather'), chatTool('get_time')];
const TWO_CALLS = 'please call get_weather {"city": "Oslo"} and then call get_time {"tz":"CET"}';

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

function snapshotsOf(events: ResponseStreamEvent[]): unknown[] {
  return events.flatMap((e) => ('response' in e ? [e.response] : []));
}

describe('tool calls on /v1/responses', () => {
  it('answers function_call items the SDK parses, complete as a ResponseResource', async () => {
    const response = await client.responses.create({ model: 'm', input: TWO_CALLS, tools: TOOLS });
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('');
    expect(response.output).toMatchObject([
      { type: 'function_call', status: 'completed', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { type: 'function_call', status: 'completed', name: 'get_time', arguments: '{"tz":"CET"}' },
    ]);
    for (const item of response.output) {
      if (item.type !== 'function_call') throw new Error(`unexpected ${item.type}`);
      expect(item.id).toMatch(/^fc_/);
      expect(item.call_id).toMatch(/^call_/);
    }
    // (11 + 15) + (8 + 12) = 46 characters → 12 tokens.
    expect(response.usage?.output_tokens).toBe(12);
    expect(response.tools).toEqual(TOOLS.map((t) => ({ ...t, description: null })));
    expect(responseResourceIssues(response)).toEqual([]);
  });

  it('streams each call as added, argument deltas, done, with gap-free sequence numbers', async () => {
    const whole = await client.responses.create({ model: 'm', input: TWO_CALLS, tools: TOOLS });
    const events = await collect(await client.responses.create({ model: 'm', input: TWO_CALLS, tools: TOOLS, stream: true }));
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));

    const types = events.map((e) => e.type);
    const callEvents = (deltas: number) => [
      'response.output_item.added',
      ...Array<string>(deltas).fill('response.function_call_arguments.delta'),
      'response.function_call_arguments.done',
      'response.output_item.done',
    ];
    const deltasOf = (index: number) =>
      events.filter((e) => e.type === 'response.function_call_arguments.delta' && e.output_index === index);
    expect(deltasOf(0).length).toBeGreaterThan(1);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      ...callEvents(deltasOf(0).length),
      ...callEvents(deltasOf(1).length),
      'response.completed',
    ]);
    expect(deltasOf(0).map((e) => (e.type === 'response.function_call_arguments.delta' ? e.delta : '')).join('')).toBe(
      '{"city":"Oslo"}',
    );
    const added = events.find((e) => e.type === 'response.output_item.added');
    expect(added?.type === 'response.output_item.added' && added.item).toMatchObject({ status: 'in_progress', arguments: '' });
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    expect(done).toMatchObject({ name: 'get_weather', arguments: '{"city":"Oslo"}', output_index: 0 });

    const last = events.at(-1);
    if (last?.type !== 'response.completed') throw new Error('the stream does not end with response.completed');
    const strip = (items: unknown[]) => items.map((i) => ({ ...(i as object), id: 'x', call_id: 'x' }));
    expect(strip(last.response.output)).toEqual(strip(whole.output));
    for (const snapshot of snapshotsOf(events)) expect(responseResourceIssues(snapshot)).toEqual([]);
  });

  it('works with the SDK stream helper, which accumulates the arguments', async () => {
    const stream = client.responses.stream({ model: 'm', input: 'call get_time {"tz":"UTC"}', tools: TOOLS });
    const snapshots: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) => snapshots.push(event.snapshot));
    const final = await stream.finalResponse();
    expect(final.output).toMatchObject([{ type: 'function_call', name: 'get_time', arguments: '{"tz":"UTC"}' }]);
    expect(snapshots.at(-1)).toBe('{"tz":"UTC"}');
  });

  it('honours tool_choice and parallel_tool_calls', async () => {
    const names = async (extra: Partial<OpenAI.Responses.ResponseCreateParamsNonStreaming>, input = TWO_CALLS) =>
      (await client.responses.create({ model: 'm', input, tools: TOOLS, ...extra })).output.map((o) =>
        o.type === 'function_call' ? `${o.name} ${o.arguments}` : o.type,
      );
    expect(await names({ parallel_tool_calls: false })).toEqual(['get_weather {"city":"Oslo"}']);
    expect(await names({ tool_choice: 'none' })).toEqual(['message']);
    expect(await names({ tool_choice: { type: 'function', name: 'get_time' } })).toEqual(['get_time {"tz":"CET"}']);
    expect(await names({ tool_choice: 'required' }, 'no mention')).toEqual(['get_weather {}']);
    expect(await names({}, 'no mention')).toEqual(['message']);
  });

  it('answers a tool result with text naming the tool, ending the round trip', async () => {
    const first = await client.responses.create({ model: 'm', input: 'call get_weather {"city":"Oslo"}', tools: TOOLS });
    const call = first.output[0];
    if (call?.type !== 'function_call') throw new Error('expected a function call');
    const second = await client.responses.create({
      model: 'm',
      tools: TOOLS,
      input: [
        { role: 'user', content: 'call get_weather {"city":"Oslo"}' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21 °C' },
      ],
    });
    expect(second.output_text).toBe('Tool get_weather returned: sunny, 21 °C');
    expect(second.status).toBe('completed');
  });
});

describe('tool calls on /v1/chat/completions', () => {
  const messages = [{ role: 'user' as const, content: TWO_CALLS }];

  it('answers message.tool_calls with content null and finish_reason tool_calls', async () => {
    const completion = await client.chat.completions.create({ model: 'm', messages, tools: CHAT_TOOLS });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toMatchObject([
      { type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
    ]);
    expect(choice?.message.tool_calls?.every((c) => c.id.startsWith('call_'))).toBe(true);
    expect(completion.usage?.completion_tokens).toBe(12);
  });

  it('streams tool-call fragments keyed by index, then the finish, the usage and [DONE]', async () => {
    const chunks: ChatCompletionChunk[] = await collect(
      await client.chat.completions.create({
        model: 'm',
        messages,
        tools: CHAT_TOOLS,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    const firstOf = (index: number) => fragments.find((f) => f.index === index);
    expect(firstOf(0)).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(firstOf(1)?.id).toMatch(/^call_/);
    for (const index of [0, 1]) {
      const later = fragments.filter((f) => f.index === index).slice(1);
      expect(later.length).toBeGreaterThan(1);
      expect(later.every((f) => f.id === undefined && f.function?.name === undefined)).toBe(true);
    }
    const args = fragments.filter((f) => f.index === 1).map((f) => f.function?.arguments ?? '').join('');
    expect(args).toBe('{"tz":"CET"}');
    expect(chunks.filter((c) => c.choices[0]?.finish_reason === 'tool_calls')).toHaveLength(1);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 12 } });
  });

  it('assembles with the SDK stream helper into the non-streamed message', async () => {
    const whole = await client.chat.completions.create({ model: 'm', messages, tools: CHAT_TOOLS });
    const final = await client.chat.completions.stream({ model: 'm', messages, tools: CHAT_TOOLS }).finalChatCompletion();
    const strip = (calls: { id: string }[] | undefined) => calls?.map((c) => ({ ...c, id: 'x' }));
    expect(strip(final.choices[0]?.message.tool_calls)).toEqual(strip(whole.choices[0]?.message.tool_calls));
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('answers a tool message with text naming the tool of the matching call', async () => {
    const completion = await client.chat.completions.create({
      model: 'm',
      tools: CHAT_TOOLS,
      messages: [
        { role: 'user', content: 'call get_time' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_time', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_abc', content: '12:00' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('Tool get_time returned: 12:00');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });
});

describe('length-limited answers', () => {
  const input = 'a question long enough to be cut';

  it('answers an incomplete response, and a stream ending with response.incomplete', async () => {
    const response = await client.responses.create({ model: 'm', input, max_output_tokens: 3 });
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(response.output_text).toBe('Echo: a ques');
    expect(response.usage?.output_tokens).toBe(3);
    expect(responseResourceIssues(response)).toEqual([]);

    const events = await collect(await client.responses.create({ model: 'm', input, max_output_tokens: 3, stream: true }));
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const last = events.at(-1);
    if (last?.type !== 'response.incomplete') throw new Error(`the stream ends with ${last?.type}`);
    expect(last.response.output).toMatchObject([{ status: 'incomplete', content: [{ text: 'Echo: a ques' }] }]);
    expect(events.some((e) => e.type === 'response.completed')).toBe(false);

    const final = await client.responses.stream({ model: 'm', input, max_output_tokens: 3 }).finalResponse();
    expect(final).toMatchObject({ status: 'incomplete', output_text: 'Echo: a ques' });
  });

  it('answers finish_reason length on chat, streamed or not', async () => {
    const messages = [{ role: 'user' as const, content: input }];
    for (const limit of [{ max_completion_tokens: 2 }, { max_tokens: 2 }]) {
      const completion = await client.chat.completions.create({ model: 'm', messages, ...limit });
      expect(completion.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Echo: a ' } });
      expect(completion.usage?.completion_tokens).toBe(2);
    }
    const chunks = await collect(
      await client.chat.completions.create({ model: 'm', messages, max_completion_tokens: 2, stream: true }),
    );
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Echo: a ');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
  });
});
