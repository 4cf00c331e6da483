// POST /v1/responses for a model whose upstream speaks only Chat Completions (DESIGN 10): the
// development upstream answers with text, with tool calls and cut at the length limit,
// streamed and not; the client gets Responses objects and semantic events (sequence numbers
// gap-free), and the record holds the Responses object the client got, with its usage.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevUpstreamCall } from '../../../src/dev-upstream/app.ts';
import { decodeResponseBody } from '../../../src/responses/stored-body.ts';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { expectResponseResource } from '../../helpers/open-responses-schema.ts';

const MODEL = 'llama-chat';

let gw: TestGateway;
let key: TestKey;
let client: OpenAI;
const calls: DevUpstreamCall[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ upstream: { onRequest: (call) => void calls.push(call) } });
  await gw.addModel(MODEL, { api: 'chat' });
  key = await gw.createKey();
  client = gw.client(key.key);
});
afterAll(async () => {
  await gw?.close();
});

const weather: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
  strict: true,
};

/** The row of a response, its stored body decoded. */
async function recorded(id: string) {
  const row = await gw.terminalRow(parseResponseId(id));
  return { row, body: decodeResponseBody(row.responseBody!) as Record<string, unknown> };
}

async function streamed(params: OpenAI.Responses.ResponseCreateParamsStreaming) {
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  for await (const event of await client.responses.create(params)) events.push(event);
  const final = events.at(-1) as { response: OpenAI.Responses.Response };
  return { events, types: events.map((e) => e.type), final: final.response };
}

function expectGapFree(events: readonly OpenAI.Responses.ResponseStreamEvent[]) {
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
}

describe('a chat-only upstream through /v1/responses', () => {
  it('text, not streamed: one message item, usage mapped, recorded as the Responses object', async () => {
    const answer = await client.responses.create({ model: MODEL, input: 'hello chat', instructions: 'be kind', temperature: 0.2 });
    const sent = calls.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toMatchObject({
      model: MODEL,
      messages: [
        { role: 'system', content: 'be kind' },
        { role: 'user', content: 'hello chat' },
      ],
      temperature: 0.2,
    });
    expect(answer).toMatchObject({
      object: 'response',
      status: 'completed',
      output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Echo: hello chat', annotations: [] }] }],
      usage: { input_tokens: expect.any(Number), output_tokens: 4, total_tokens: expect.any(Number) },
    });
    const { row, body } = await recorded(answer.id);
    const { output_text: _derived, ...raw } = answer as OpenAI.Responses.Response & { output_text?: string };
    expect(body).toEqual(raw);
    expect(row).toMatchObject({ state: 'completed', model: MODEL, completionTokens: 4, promptTokens: answer.usage!.input_tokens });
  });

  it('tool calls, not streamed: function_call items; the tool result goes back as a tool message', async () => {
    const answer = await client.responses.create({
      model: MODEL,
      input: 'call get_weather {"city":"Paris"} and call get_weather {"city":"Rome"}',
      tools: [weather],
    });
    expect(calls.at(-1)!.body).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: weather.parameters, strict: true } }],
    });
    expect(answer.status).toBe('completed');
    const fcs = answer.output.filter((o) => o.type === 'function_call');
    expect(fcs.map((f) => [f.name, f.arguments])).toEqual([
      ['get_weather', '{"city":"Paris"}'],
      ['get_weather', '{"city":"Rome"}'],
    ]);
    for (const f of fcs) expect(f).toMatchObject({ id: expect.stringMatching(/^fc_/), call_id: expect.any(String), status: 'completed' });
    expect((await recorded(answer.id)).body.output).toEqual(answer.output);

    // The round trip: the tool's output, continuing the chain.
    const next = await client.responses.create({
      model: MODEL,
      previous_response_id: answer.id,
      tools: [weather],
      input: [{ type: 'function_call_output', call_id: fcs[1]!.call_id, output: 'sunny' }],
    });
    const messages = (calls.at(-1)!.body as { messages: Record<string, unknown>[] }).messages;
    expect(messages.at(-2)).toMatchObject({
      role: 'assistant',
      tool_calls: [
        { id: fcs[0]!.call_id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: fcs[1]!.call_id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
      ],
    });
    expect(messages.at(-1)).toEqual({ role: 'tool', tool_call_id: fcs[1]!.call_id, content: 'sunny' });
    expect(next.output_text).toBe('Tool get_weather returned: sunny');
  });

  it('finish_reason length, not streamed: incomplete, max_output_tokens', async () => {
    const answer = await client.responses.create({ model: MODEL, input: 'please answer at great length', max_output_tokens: 2 });
    // max_tokens: the one every chat engine reads (llama.cpp, TGI, Ollama's OpenAI API).
    expect(calls.at(-1)!.body).toMatchObject({ max_tokens: 2 });
    expect(answer).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { output_tokens: 2 } });
    expect(answer.output_text).toBe('Echo: pl');
    const { row, body } = await recorded(answer.id);
    expect(body).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(row.completionTokens).toBe(2);
  });

  it('text, streamed: the semantic events in order, gap-free, and the record is the final snapshot', async () => {
    const { events, types, final } = await streamed({ model: MODEL, input: 'stream hello', stream: true });
    expectGapFree(events);
    expect(types[0]).toBe('response.created');
    expect(types[1]).toBe('response.in_progress');
    expect(types.at(-1)).toBe('response.completed');
    const order = (t: string) => types.indexOf(t as OpenAI.Responses.ResponseStreamEvent['type']);
    expect(order('response.output_item.added')).toBeLessThan(order('response.content_part.added'));
    expect(order('response.content_part.added')).toBeLessThan(order('response.output_text.delta'));
    expect(types.lastIndexOf('response.output_text.delta')).toBeLessThan(order('response.output_text.done'));
    expect(order('response.output_text.done')).toBeLessThan(order('response.content_part.done'));
    expect(order('response.content_part.done')).toBeLessThan(order('response.output_item.done'));
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
    expect(deltas.join('')).toBe('Echo: stream hello');
    expect(deltas.length).toBeGreaterThan(1);
    expect(final).toMatchObject({ status: 'completed', usage: { output_tokens: 5 } });
    expectResponseResource(final);
    expect(calls.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const { row, body } = await recorded(final.id);
    expect(body).toEqual(final);
    expect(row.completionTokens).toBe(5);
  });

  it('tool calls, streamed: argument deltas per call, function_call items in the final object', async () => {
    const { events, types, final } = await streamed({
      model: MODEL,
      input: 'call get_weather {"city":"Oslo"}',
      tools: [weather],
      stream: true,
    });
    expectGapFree(events);
    expect(types).toContain('response.function_call_arguments.delta');
    expect(types).not.toContain('response.output_text.delta');
    const args = events.flatMap((e) => (e.type === 'response.function_call_arguments.delta' ? [e.delta] : []));
    expect(args.join('')).toBe('{"city":"Oslo"}');
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    expect(done).toMatchObject({ arguments: '{"city":"Oslo"}', output_index: 0 });
    const itemDone = events.find((e) => e.type === 'response.output_item.done');
    expect(itemDone).toMatchObject({ item: { type: 'function_call', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' } });
    expect(final.output).toEqual([expect.objectContaining({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Oslo"}' })]);
    expect(types.at(-1)).toBe('response.completed');
    expect((await recorded(final.id)).body).toEqual(final);
  });

  it('finish_reason length, streamed: ends with response.incomplete', async () => {
    const { events, types, final } = await streamed({ model: MODEL, input: 'a long streamed question', max_output_tokens: 2, stream: true });
    expectGapFree(events);
    expect(types.at(-1)).toBe('response.incomplete');
    expect(types).not.toContain('response.completed');
    expect(final).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, completed_at: null });
    expectResponseResource(final);
    const { row, body } = await recorded(final.id);
    expect(body).toEqual(final);
    expect(row.completionTokens).toBe(2);
  });
});
