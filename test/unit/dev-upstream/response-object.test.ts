import { describe, expect, it } from 'vitest';
import type { Answer, Json } from '../../../src/dev-upstream/answer.ts';
import { createResponse } from '../../../src/dev-upstream/responses.ts';
import { responseResourceViolations as responseResourceIssues } from '../../helpers/open-responses-schema.ts';

let n = 0;
const mintId = (prefix: string) => `${prefix}t${n++}`;

function respond(body: Json): Answer {
  return createResponse({ model: 'm', ...body }, 'm', mintId, 1_700_000_000);
}

function json(answer: Answer): Record<string, unknown> {
  if (answer.kind !== 'json') throw new Error(`expected a JSON answer, got ${JSON.stringify(answer)}`);
  return answer.body as Record<string, unknown>;
}

/** The parsed events of an SSE answer. */
function events(answer: Answer): Record<string, unknown>[] {
  if (answer.kind !== 'sse') throw new Error(`expected an SSE answer, got ${JSON.stringify(answer)}`);
  return answer.chunks
    .join('')
    .split('\n\n')
    .filter(Boolean)
    .map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as Record<string, unknown>);
}

const weather = { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } };

const requests: [string, Json][] = [
  ['a bare string input', { input: 'hi' }],
  ['no input at all', {}],
  ['every setting given', {
    input: 'hi',
    instructions: 'be brief',
    background: false,
    frequency_penalty: 0.5,
    presence_penalty: -0.5,
    max_output_tokens: 100,
    max_tool_calls: 3,
    metadata: { run: 'a' },
    parallel_tool_calls: false,
    previous_response_id: 'resp_prev',
    prompt_cache_key: 'k',
    reasoning: { effort: 'low' },
    safety_identifier: 'user-1',
    service_tier: 'flex',
    store: false,
    temperature: 0.3,
    text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' } }, verbosity: 'low' },
    tool_choice: 'auto',
    tools: [weather],
    top_logprobs: 2,
    top_p: 0.9,
    truncation: 'auto',
    user: 'u',
  }],
  ['settings sent as null', { input: 'hi', temperature: null, text: null, reasoning: null, tool_choice: null, tools: null, metadata: null }],
  ['a tool call', { input: 'call get_weather {"city":"Oslo"}', tools: [weather] }],
  ['parallel tool calls', { input: 'call get_weather and call get_weather', tools: [weather] }],
  ['a forced tool call', { input: 'hi', tools: [weather], tool_choice: { type: 'function', name: 'get_weather' } }],
  ['allowed_tools without a mode', { input: 'hi', tools: [weather], tool_choice: { type: 'allowed_tools', tools: [{ type: 'function', name: 'get_weather' }] } }],
  ['a length-limited answer', { input: 'a long question that will not fit', max_output_tokens: 2 }],
];

describe('Responses objects', () => {
  it.each(requests)('are complete ResponseResources: %s', (_name, body) => {
    expect(responseResourceIssues(json(respond(body)))).toEqual([]);
  });

  it.each(requests)('are complete in every streamed snapshot: %s', (_name, body) => {
    const snapshots = events(respond({ ...body, stream: true })).filter((e) => 'response' in e);
    expect(snapshots.length).toBe(3);
    for (const event of snapshots) expect(responseResourceIssues(event['response'])).toEqual([]);
  });

  it('echo the documented defaults for settings the request leaves out', () => {
    expect(json(respond({ input: 'hi' }))).toMatchObject({
      background: false,
      frequency_penalty: 0,
      instructions: null,
      max_output_tokens: null,
      max_tool_calls: null,
      metadata: {},
      parallel_tool_calls: true,
      presence_penalty: 0,
      previous_response_id: null,
      prompt_cache_key: null,
      reasoning: { effort: null, summary: null },
      safety_identifier: null,
      service_tier: 'default',
      store: true,
      temperature: 1,
      text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_logprobs: 0,
      top_p: 1,
      truncation: 'disabled',
    });
  });

  it('echo the settings the request gives, completing nested defaults', () => {
    const body = json(respond(requests[2]![1]));
    expect(body).toMatchObject({
      instructions: 'be brief',
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      max_output_tokens: 100,
      max_tool_calls: 3,
      metadata: { run: 'a' },
      parallel_tool_calls: false,
      previous_response_id: 'resp_prev',
      prompt_cache_key: 'k',
      reasoning: { effort: 'low', summary: null },
      safety_identifier: 'user-1',
      service_tier: 'flex',
      store: false,
      temperature: 0.3,
      text: { format: { type: 'json_schema', name: 'out', description: null, schema: { type: 'object' }, strict: false }, verbosity: 'low' },
      top_logprobs: 2,
      top_p: 0.9,
      truncation: 'auto',
      user: 'u',
    });
  });

  it('echo function tools in the Responses shape, strict true unless the request says otherwise', () => {
    const tools = json(respond({ input: 'hi', tools: [weather, { ...weather, name: 'loose', strict: false, description: 'd' }, { type: 'web_search' }] }))['tools'];
    expect(tools).toEqual([
      { type: 'function', name: 'get_weather', description: null, parameters: weather.parameters, strict: true },
      { type: 'function', name: 'loose', description: 'd', parameters: weather.parameters, strict: false },
      { type: 'web_search' },
    ]);
  });

  it('echo allowed_tools with its mode defaulted to auto', () => {
    expect(json(respond(requests[7]![1]))['tool_choice']).toEqual({
      type: 'allowed_tools',
      mode: 'auto',
      tools: [{ type: 'function', name: 'get_weather' }],
    });
  });

  it('report a length-limited answer as incomplete with the cut usage', () => {
    const body = json(respond({ input: 'a long question that will not fit', max_output_tokens: 2 }));
    expect(body).toMatchObject({
      status: 'incomplete',
      completed_at: null,
      incomplete_details: { reason: 'max_output_tokens' },
      output: [{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'Echo: a ' }] }],
      usage: { output_tokens: 2 },
    });
  });
});

describe('request checks', () => {
  it.each([
    ['a function tool without a name', { tools: [{ type: 'function', function: { name: 'chat_shape' } }] }, 'tools[0].name'],
    ['a tool name with spaces', { tools: [{ type: 'function', name: 'two words' }] }, 'tools[0].name'],
    ['a forced function that is not offered', { tools: [weather], tool_choice: { type: 'function', name: 'other' } }, 'tool_choice'],
    ['required without function tools', { tool_choice: 'required' }, 'tool_choice'],
    ['an unknown tool_choice string', { tool_choice: 'sometimes' }, 'tool_choice'],
    ['a temperature that is not a number', { temperature: 'hot' }, 'temperature'],
    ['a negative max_output_tokens', { max_output_tokens: -1 }, 'max_output_tokens'],
    ['an input that is a number', { input: 5 }, 'input'],
    ['instructions that are not a string', { instructions: ['x'] }, 'instructions'],
  ])('answer 400 naming the field: %s', (_name, body, param) => {
    const answer = respond({ input: 'hi', ...body });
    expect(answer).toMatchObject({ kind: 'error', status: 400, param });
  });
});
