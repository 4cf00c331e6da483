import { describe, expect, it } from 'vitest';
import { chatBody, completed, hex, respond } from './response-fixtures.ts';

describe('completed with a chat-completion body', () => {
  it('wraps the first choice in one assistant message item', () => {
    const object = respond(completed(JSON.stringify(chatBody)));
    expect(object.output).toEqual([
      {
        type: 'message',
        id: `msg_${hex}`,
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Hi there', annotations: [] }],
      },
    ]);
    expect(object).not.toHaveProperty('output_text');
  });

  it('derives the message id from the response id, so it is the same on every read', () => {
    const first = respond(completed(JSON.stringify(chatBody)));
    const second = respond(completed(JSON.stringify(chatBody)));
    expect(first.output).toEqual(second.output);
    const other = respond(completed(JSON.stringify(chatBody), { id: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' }));
    expect((other.output[0] as { id: string }).id).toBe('msg_aaaaaaaabbbbccccddddeeeeeeeeeeee');
  });

  it('maps prompt/completion/total tokens to input/output/total tokens', () => {
    const object = respond(completed(JSON.stringify(chatBody)));
    expect(object.usage).toEqual({
      input_tokens: 9,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 12,
    });
  });

  it('carries cached and reasoning token details across', () => {
    const body = {
      ...chatBody,
      usage: {
        prompt_tokens: 20,
        completion_tokens: 8,
        total_tokens: 28,
        prompt_tokens_details: { cached_tokens: 16 },
        completion_tokens_details: { reasoning_tokens: 5 },
      },
    };
    expect(respond(completed(JSON.stringify(body))).usage).toEqual({
      input_tokens: 20,
      input_tokens_details: { cached_tokens: 16 },
      output_tokens: 8,
      output_tokens_details: { reasoning_tokens: 5 },
      total_tokens: 28,
    });
  });

  it('uses the usage columns when the chat body has no usage', () => {
    const { usage: _usage, ...body } = chatBody;
    const object = respond(completed(JSON.stringify(body), { promptTokens: 3, completionTokens: 2, totalTokens: null }));
    expect(object.usage).toMatchObject({ input_tokens: 3, output_tokens: 2, total_tokens: 5 });
  });

  it('maps a refusal to a refusal content part', () => {
    const body = { ...chatBody, choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'No.' } }] };
    expect(respond(completed(JSON.stringify(body))).output).toEqual([
      { type: 'message', id: `msg_${hex}`, status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] },
    ]);
  });

  it('maps tool calls to function_call items after the message', () => {
    const body = {
      ...chatBody,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
    };
    expect(respond(completed(JSON.stringify(body))).output).toEqual([
      {
        type: 'function_call',
        id: `fc_${hex}_0`,
        call_id: 'call_1',
        name: 'lookup',
        arguments: '{"q":"x"}',
        status: 'completed',
      },
    ]);
  });

  it('still produces one empty message item for a choice with no content', () => {
    const body = { ...chatBody, choices: [] };
    expect(respond(completed(JSON.stringify(body))).output).toEqual([
      { type: 'message', id: `msg_${hex}`, status: 'completed', role: 'assistant', content: [] },
    ]);
  });

  it.each([
    ['length', 'max_output_tokens'],
    ['content_filter', 'content_filter'],
  ])('reports finish_reason %s as incomplete with reason %s', (finishReason, reason) => {
    const body = { ...chatBody, choices: [{ ...chatBody.choices[0], finish_reason: finishReason }] };
    const object = respond(completed(JSON.stringify(body)));
    expect(object.status).toBe('incomplete');
    expect(object.incomplete_details).toEqual({ reason });
    expect(object.output).toEqual([expect.objectContaining({ type: 'message', status: 'incomplete' })]);
    expect(object.completed_at).toBe(1740830405);
  });

  it('reports a finished chat completion with no incomplete_details', () => {
    expect(respond(completed(JSON.stringify(chatBody))).incomplete_details).toBeNull();
  });

  it('echoes a chat request\'s settings in their Responses spelling', () => {
    const body = JSON.stringify({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      max_completion_tokens: 64,
      temperature: 0.5,
    });
    const object = respond(completed(JSON.stringify(chatBody), { body, background: false, serviceTier: 'default' }));
    expect(object).toMatchObject({
      tools: [{ type: 'function', name: 'lookup', description: null, parameters: { type: 'object' }, strict: true }],
      tool_choice: { type: 'function', name: 'lookup' },
      max_output_tokens: 64,
      temperature: 0.5,
      background: false,
      service_tier: 'default',
    });
  });
});
