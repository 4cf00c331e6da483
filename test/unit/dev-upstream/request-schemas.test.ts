import { describe, expect, it } from 'vitest';
import {
  chatSettingsSchema,
  chatTools,
  parseBody,
  responsesSettingsSchema,
  responsesTools,
} from '../../../src/dev-upstream/request-schemas.ts';

const fn = (name: string) => ({ type: 'function', name });
const chatFn = (name: string) => ({ type: 'function', function: { name } });

describe('responsesTools', () => {
  it.each([
    ['no tools', undefined, undefined, { names: [], choice: { mode: 'auto' } }],
    ['function tools in order, other tools skipped', [fn('a'), { type: 'web_search' }, fn('b')], 'auto', {
      names: ['a', 'b'],
      choice: { mode: 'auto' },
    }],
    ['none', [fn('a')], 'none', { names: ['a'], choice: { mode: 'none' } }],
    ['required', [fn('a')], 'required', { names: ['a'], choice: { mode: 'required' } }],
    ['a named function', [fn('a'), fn('b')], { type: 'function', name: 'b' }, {
      names: ['a', 'b'],
      choice: { mode: 'function', name: 'b' },
    }],
    ['allowed_tools narrowing the names', [fn('a'), fn('b'), fn('c')], {
      type: 'allowed_tools',
      mode: 'required',
      tools: [fn('c'), fn('a')],
    }, { names: ['a', 'c'], choice: { mode: 'required' } }],
    ['a hosted tool choice, which the server cannot call', [fn('a')], { type: 'web_search' }, {
      names: ['a'],
      choice: { mode: 'none' },
    }],
  ])('normalise %s', (_name, tools, choice, expected) => {
    expect(responsesTools(tools, choice)).toMatchObject(expected);
  });

  it.each([
    ['a tool that is not an object', ['x'], undefined, 'tools[0]'],
    ['a function tool without a name', [{ type: 'function' }], undefined, 'tools[0].name'],
    ['a bad strict', [{ type: 'function', name: 'a', strict: 'yes' }], undefined, 'tools[0].strict'],
    ['a function choice without a name', [fn('a')], { type: 'function' }, 'tool_choice.name'],
    ['a function choice naming no offered tool', [fn('a')], { type: 'function', name: 'b' }, 'tool_choice'],
    ['required without function tools', [{ type: 'web_search' }], 'required', 'tool_choice'],
    ['a choice that is a number', [fn('a')], 3, 'tool_choice'],
  ])('refuse %s, naming the field', (_name, tools, choice, param) => {
    expect(responsesTools(tools, choice)).toMatchObject({ kind: 'error', status: 400, param });
  });

  it('says missing for an absent field and invalid for a wrong one', () => {
    expect(responsesTools([{ type: 'function' }], undefined)).toMatchObject({ code: 'missing_required_parameter' });
    expect(responsesTools([{ type: 'function', name: 7 }], undefined)).toMatchObject({ code: 'invalid_type' });
  });
});

describe('chatTools', () => {
  it.each([
    ['function tools', [chatFn('a'), { type: 'custom', custom: { name: 'c' } }, chatFn('b')], undefined, {
      names: ['a', 'b'],
      choice: { mode: 'auto' },
    }],
    ['a named function', [chatFn('a'), chatFn('b')], { type: 'function', function: { name: 'a' } }, {
      names: ['a', 'b'],
      choice: { mode: 'function', name: 'a' },
    }],
    ['allowed_tools', [chatFn('a'), chatFn('b')], {
      type: 'allowed_tools',
      allowed_tools: { mode: 'auto', tools: [chatFn('b')] },
    }, { names: ['b'], choice: { mode: 'auto' } }],
  ])('normalise %s', (_name, tools, choice, expected) => {
    expect(chatTools(tools, choice)).toEqual(expected);
  });

  it.each([
    ['a function tool in the Responses shape', [fn('a')], undefined, 'tools[0].function'],
    ['a function choice in the Responses shape', [chatFn('a')], { type: 'function', name: 'a' }, 'tool_choice.function'],
    ['a forced function that is not offered', [chatFn('a')], { type: 'function', function: { name: 'z' } }, 'tool_choice'],
  ])('refuse %s, naming the field', (_name, tools, choice, param) => {
    expect(chatTools(tools, choice)).toMatchObject({ kind: 'error', status: 400, param });
  });
});

describe('parseBody', () => {
  it('accepts a minimal body of either API and ignores unknown fields', () => {
    expect(parseBody(responsesSettingsSchema, { model: 'm', extra: { x: 1 } })).toEqual({});
    expect(parseBody(chatSettingsSchema, { messages: [] })).toEqual({ messages: [] });
  });

  it.each([
    [responsesSettingsSchema, { stream: 'yes' }, 'stream', 'invalid_type'],
    [responsesSettingsSchema, { truncation: 'sometimes' }, 'truncation', 'invalid_value'],
    [responsesSettingsSchema, { metadata: { n: 1 } }, 'metadata.n', 'invalid_type'],
    [responsesSettingsSchema, { max_tool_calls: 1.5 }, 'max_tool_calls', 'invalid_type'],
    [chatSettingsSchema, {}, 'messages', 'missing_required_parameter'],
    [chatSettingsSchema, { messages: [], max_tokens: -3 }, 'max_tokens', 'invalid_value'],
    [chatSettingsSchema, { messages: [], stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage', 'invalid_type'],
  ])('refuses %#: %j, naming %s', (schema, body, param, code) => {
    expect(parseBody(schema as typeof chatSettingsSchema, body)).toMatchObject({ kind: 'error', status: 400, param, code });
  });
});
