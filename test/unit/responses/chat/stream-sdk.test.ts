// The translator's events, as SSE text, must be what the official SDK accepts: its stream
// parser and response accumulator (which throws on an event that points at a missing item
// or part) read them back unchanged, deltas alone rebuild the answer, and every event has
// exactly the fields its SDK type requires.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { ResponseOutputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodeSse, type EndOptions } from '../../../../src/responses/chat/index.ts';
import { chunk, finish, text, toolCall, translate, usageChunk } from './fixtures.ts';

const scenarios: Array<[string, unknown[], EndOptions]> = [
  ['text only', [chunk({ role: 'assistant', content: '' }), text('Hel'), text('lo'), finish('stop'), usageChunk({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 })], { done: true }],
  ['tool calls only', [toolCall(0, { id: 'call_a', name: 'weather', arguments: '{"ci' }), toolCall(0, { arguments: 'ty":"Oslo"}' }), finish('tool_calls')], { done: true }],
  [
    'text then parallel tool calls',
    [text('Checking.'), toolCall(0, { id: 'call_a', name: 'f', arguments: '{' }), toolCall(1, { id: 'call_b', name: 'g', arguments: '{}' }), toolCall(0, { arguments: '}' }), finish('tool_calls')],
    { done: true },
  ],
  ['length', [text('Once upon a'), finish('length')], { done: true }],
  ['refusal', [chunk({ refusal: 'No.' }), finish('stop')], { done: true }],
  ['error chunk', [text('Hal'), { error: { message: 'engine overloaded' } }], { done: true }],
  ['end without [DONE]', [text('Half')], {}],
];

let body = '';
let server: Server;
let client: OpenAI;

beforeAll(async () => {
  // Written in small pieces so events also arrive split across network chunks.
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < body.length; i += 37) res.write(body.slice(i, i + 37));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new OpenAI({ apiKey: 'test', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('translated streams through the OpenAI SDK', () => {
  it.each(scenarios)('%s: the SDK reads every event back and ends on our final answer', async (_name, chunks, end) => {
    const { events, final } = translate(chunks, end);
    body = events.map(encodeSse).join('');
    const stream = client.responses.stream({ model: 'm', input: 'x' });
    const received: ResponseStreamEvent[] = [];
    for await (const event of stream) received.push(event);
    expect(received).toEqual(events);
    const response = await stream.finalResponse();
    expect(response.status).toBe(final.status);
    // The SDK adds its own `parsed: null` to output_text parts, hence a subset match.
    expect(response.output).toMatchObject(final.output);
    expect(response.output_text).toBe(final.output_text);
  });

  it.each(scenarios)('%s: the deltas alone rebuild the output', (_name, chunks, end) => {
    const { events, final } = translate(chunks, end);
    const building = events.filter((e) => e.type === 'response.created' || e.type.endsWith('.added') || e.type.endsWith('.delta'));
    let snapshot = undefined as ReturnType<typeof accumulateResponse> | undefined;
    for (const event of building) snapshot = accumulateResponse(event, snapshot);
    // Items are still in_progress in a snapshot built from deltas: compare all but the status.
    const withoutStatus = (items: ResponseOutputItem[]) => items.map((item) => ({ ...item, status: undefined }));
    expect(withoutStatus(snapshot?.output ?? [])).toEqual(withoutStatus(final.output));
  });

  it.each(scenarios)('%s: every event has its required fields and no others; numbers are gap-free', (_name, chunks, end) => {
    const { events } = translate(chunks, end);
    for (const event of events) expect(StreamEvent.safeParse(event).error?.issues ?? []).toEqual([]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  });
});

const index = z.number().int().nonnegative();
const status = z.enum(['in_progress', 'completed', 'incomplete']);
const OutputText = z.strictObject({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.never()), logprobs: z.array(z.never()) });
const Refusal = z.strictObject({ type: z.literal('refusal'), refusal: z.string() });
const Part = z.discriminatedUnion('type', [OutputText, Refusal]);
const Item = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('message'), id: z.string().startsWith('msg_'), role: z.literal('assistant'), status, content: z.array(Part) }),
  z.strictObject({ type: z.literal('function_call'), id: z.string().startsWith('fc_'), call_id: z.string().min(1), name: z.string(), arguments: z.string(), status }),
]);
const ResponseObject = z.looseObject({ id: z.string(), object: z.literal('response'), status: z.string(), output: z.array(Item) });
const at = { item_id: z.string(), output_index: index, sequence_number: index };
const lifecycle = (type: string) => z.strictObject({ type: z.literal(type), response: ResponseObject, sequence_number: index });
const StreamEvent = z.discriminatedUnion('type', [
  lifecycle('response.created'),
  lifecycle('response.in_progress'),
  lifecycle('response.completed'),
  lifecycle('response.incomplete'),
  lifecycle('response.failed'),
  z.strictObject({ type: z.literal('response.output_item.added'), output_index: index, item: Item, sequence_number: index }),
  z.strictObject({ type: z.literal('response.output_item.done'), output_index: index, item: Item, sequence_number: index }),
  z.strictObject({ type: z.literal('response.content_part.added'), ...at, content_index: index, part: Part }),
  z.strictObject({ type: z.literal('response.content_part.done'), ...at, content_index: index, part: Part }),
  z.strictObject({ type: z.literal('response.output_text.delta'), ...at, content_index: index, delta: z.string(), logprobs: z.array(z.never()) }),
  z.strictObject({ type: z.literal('response.output_text.done'), ...at, content_index: index, text: z.string(), logprobs: z.array(z.never()) }),
  z.strictObject({ type: z.literal('response.refusal.delta'), ...at, content_index: index, delta: z.string() }),
  z.strictObject({ type: z.literal('response.refusal.done'), ...at, content_index: index, refusal: z.string() }),
  z.strictObject({ type: z.literal('response.function_call_arguments.delta'), ...at, delta: z.string() }),
  z.strictObject({ type: z.literal('response.function_call_arguments.done'), ...at, name: z.string(), arguments: z.string() }),
]);
