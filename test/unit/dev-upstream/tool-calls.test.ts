import { describe, expect, it } from 'vitest';
import {
  findToolCalls,
  firstJsonObject,
  planToolCalls,
  toolCallTokens,
  type ToolCallRequest,
} from '../../../src/dev-upstream/tool-calls.ts';

const TOOLS = ['get_weather', 'get', 'send-mail'];

function plan(overrides: Partial<ToolCallRequest>): ReturnType<typeof planToolCalls> {
  return planToolCalls({
    tools: TOOLS,
    choice: { mode: 'auto' },
    parallel: true,
    maxCalls: null,
    text: '',
    afterToolResult: false,
    ...overrides,
  });
}

describe('findToolCalls', () => {
  it.each([
    ['a plain mention', 'please call get_weather now', [{ name: 'get_weather', arguments: '{}' }]],
    ['arguments after the name, re-serialised compactly', 'call get_weather { "city" : "Oslo", "days": [1, 2] } thanks', [
      { name: 'get_weather', arguments: '{"city":"Oslo","days":[1,2]}' },
    ]],
    ['Call at the start of a sentence', 'Call send-mail {"to":"a@b"}', [{ name: 'send-mail', arguments: '{"to":"a@b"}' }]],
    ['several mentions in order, each with its own arguments', 'call get {"id":1} and then call get_weather', [
      { name: 'get', arguments: '{"id":1}' },
      { name: 'get_weather', arguments: '{}' },
    ]],
    ['the same tool twice', 'call get {"id":1}, call get {"id":2}', [
      { name: 'get', arguments: '{"id":1}' },
      { name: 'get', arguments: '{"id":2}' },
    ]],
    ['a name that only starts like a tool', 'call get_weathers and call gets', []],
    ['a name in another case', 'call GET_WEATHER', []],
    ['call glued to a word before it', 'recall get', []],
    ['a name without call', 'get_weather {"city":"Oslo"}', []],
    ['an unknown tool', 'call delete_all {}', []],
    ['a newline between call and the name', 'call\nget', [{ name: 'get', arguments: '{}' }]],
  ])('%s', (_name, text, expected) => {
    expect(findToolCalls(text, TOOLS)).toEqual(expected);
  });

  it('finds nothing without tools', () => {
    expect(findToolCalls('call get', [])).toEqual([]);
  });

  it('treats regular-expression characters in names literally', () => {
    expect(findToolCalls('call a-b', ['a-b'])).toEqual([{ name: 'a-b', arguments: '{}' }]);
    expect(findToolCalls('call axb', ['a.b'])).toEqual([]);
  });
});

describe('firstJsonObject', () => {
  it.each([
    ['{"a":1}', '{"a":1}'],
    ['text {"a": {"b": [1, {"c": 2}]}} more {"x":1}', '{"a":{"b":[1,{"c":2}]}}'],
    ['{not json} then {"ok":true}', '{"ok":true}'],
    ['{"s":"a } inside a string","t":"\\" quote"}', '{"s":"a } inside a string","t":"\\" quote"}'],
    ['{ {"inner":1}', '{"inner":1}'],
    ['no object here', undefined],
    ['{"unterminated": 1', undefined],
    ['[1, 2]', undefined],
  ])('in %j finds %j', (text, expected) => {
    expect(firstJsonObject(text)).toBe(expected);
  });
});

describe('planToolCalls', () => {
  it.each<[string, Partial<ToolCallRequest>, ReturnType<typeof planToolCalls>]>([
    ['auto without a mention answers text', { text: 'hello' }, []],
    ['auto with a mention calls', { text: 'call get {"id":7}' }, [{ name: 'get', arguments: '{"id":7}' }]],
    ['auto calls in parallel', { text: 'call get and call send-mail' }, [
      { name: 'get', arguments: '{}' },
      { name: 'send-mail', arguments: '{}' },
    ]],
    ['parallel_tool_calls false keeps the first call', { text: 'call get and call send-mail', parallel: false }, [
      { name: 'get', arguments: '{}' },
    ]],
    ['max_tool_calls caps the calls', { text: 'call get, call get, call get', maxCalls: 2 }, [
      { name: 'get', arguments: '{}' },
      { name: 'get', arguments: '{}' },
    ]],
    ['auto after a tool result answers text', { text: 'call get', afterToolResult: true }, []],
    ['none never calls', { text: 'call get', choice: { mode: 'none' } }, []],
    ['required without a mention calls the first tool', { text: 'hi', choice: { mode: 'required' } }, [
      { name: 'get_weather', arguments: '{}' },
    ]],
    ['required with a mention calls what the text names', { text: 'call send-mail {"to":"x"}', choice: { mode: 'required' } }, [
      { name: 'send-mail', arguments: '{"to":"x"}' },
    ]],
    ['required calls even after a tool result', { text: 'hi', choice: { mode: 'required' }, afterToolResult: true }, [
      { name: 'get_weather', arguments: '{}' },
    ]],
    ['a forced function without a mention calls it with {}', { text: 'call get', choice: { mode: 'function', name: 'send-mail' } }, [
      { name: 'send-mail', arguments: '{}' },
    ]],
    ['a forced function takes its arguments from its own mention', {
      text: 'call send-mail and call get {"id":1}',
      choice: { mode: 'function', name: 'get' },
    }, [{ name: 'get', arguments: '{"id":1}' }]],
    ['a forced function does not borrow the next mention\'s arguments', {
      text: 'call send-mail and call get {"id":1}',
      choice: { mode: 'function', name: 'send-mail' },
    }, [{ name: 'send-mail', arguments: '{}' }]],
    ['no offered tools answer text', { text: 'call get', tools: [], choice: { mode: 'auto' } }, []],
  ])('%s', (_name, overrides, expected) => {
    expect(plan(overrides)).toEqual(expected);
  });
});

describe('toolCallTokens', () => {
  it('estimates from the names and arguments of every call', () => {
    // 3 + 8 + 11 + 2 = 24 characters → 6 tokens.
    expect(toolCallTokens([{ name: 'get', arguments: '{"id":1}' }, { name: 'get_weather', arguments: '{}' }])).toBe(6);
  });
});
