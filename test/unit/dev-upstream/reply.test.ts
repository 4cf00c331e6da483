import { describe, expect, it } from 'vitest';
import { embedVector, toBase64 } from '../../../src/dev-upstream/embedding.ts';
import {
  DEFAULT_REPLY,
  MAX_ECHO_CHARS,
  chatPrompt,
  cutChars,
  estimateTokens,
  limitText,
  replyText,
  responsesPrompt,
  splitArguments,
  splitPieces,
} from '../../../src/dev-upstream/reply.ts';

describe('prompts', () => {
  it('counts every message of a chat prompt and keeps the last user text', () => {
    const prompt = chatPrompt([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [{ type: 'text', text: 'second ' }, { type: 'image_url', image_url: {} }, { type: 'text', text: 'part' }] },
    ]);
    expect(prompt).toEqual({ chars: 8 + 5 + 2 + 11, lastUserText: 'second part' });
  });

  it('reads a responses input given as a string or as items, plus instructions', () => {
    expect(responsesPrompt('hello', 'sys')).toEqual({ chars: 8, lastUserText: 'hello' });
    expect(
      responsesPrompt(
        [
          { role: 'user', content: 'q1' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'q2' }] },
          { type: 'function_call_output', call_id: 'c', output: 'result' },
          { role: 'assistant', content: 'ok' },
        ],
        undefined,
      ),
    ).toEqual({ chars: 2 + 2 + 6 + 2, lastUserText: 'q2' });
    expect(responsesPrompt(undefined, undefined)).toEqual({ chars: 0, lastUserText: '' });
  });

  it.each([
    [
      'a responses function_call_output answering an earlier call',
      responsesPrompt(
        [
          { role: 'user', content: 'call get_weather' },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
          { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        ],
        undefined,
      ),
      { chars: 16 + 11 + 15 + 5, lastUserText: 'call get_weather', toolResult: { name: 'get_weather', output: 'sunny' } },
    ],
    [
      'a responses output given as content parts, for a call not in the input',
      responsesPrompt([{ type: 'function_call_output', call_id: 'gone', output: [{ type: 'input_text', text: 'a' }, { type: 'input_text', text: 'b' }] }], 'x'),
      { chars: 1 + 2, lastUserText: '', toolResult: { name: 'unknown', output: 'ab' } },
    ],
    [
      'a chat tool message answering an assistant tool call',
      chatPrompt([
        { role: 'user', content: 'call lookup' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_9', content: '42' },
      ]),
      { chars: 11 + 6 + 2 + 2, lastUserText: 'call lookup', toolResult: { name: 'lookup', output: '42' } },
    ],
    [
      'a chat tool message whose call id matches nothing',
      chatPrompt([{ role: 'tool', tool_call_id: 'nope', content: [{ type: 'text', text: 'out' }] }]),
      { chars: 3, lastUserText: '', toolResult: { name: 'unknown', output: 'out' } },
    ],
  ])('finds the tool result ending the conversation: %s', (_name, prompt, expected) => {
    expect(prompt).toEqual(expected);
  });
});

describe('replyText', () => {
  it('echoes the last user text, or answers the fixed sentence when there is none', () => {
    expect(replyText({ chars: 2, lastUserText: 'hi' })).toBe('Echo: hi');
    expect(replyText({ chars: 0, lastUserText: '  ' })).toBe(DEFAULT_REPLY);
  });

  it('cuts long text without splitting a surrogate pair', () => {
    const long = 'a'.repeat(MAX_ECHO_CHARS - 1) + '😀' + 'tail';
    const reply = replyText({ chars: long.length, lastUserText: long });
    expect(reply).toBe(`Echo: ${'a'.repeat(MAX_ECHO_CHARS - 1)}…`);
  });
});

describe('replyText after a tool result', () => {
  it('names the tool and its output, cut like the echo', () => {
    expect(replyText({ chars: 0, lastUserText: 'call x', toolResult: { name: 'x', output: 'done' } })).toBe('Tool x returned: done');
    const long = 'o'.repeat(MAX_ECHO_CHARS + 5);
    expect(replyText({ chars: 0, lastUserText: '', toolResult: { name: 'unknown', output: long } })).toBe(
      `Tool unknown returned: ${'o'.repeat(MAX_ECHO_CHARS)}…`,
    );
  });
});

describe('limitText', () => {
  it.each([
    ['no limit', 'Echo: hello world', null, { text: 'Echo: hello world', tokens: 5, cut: false }],
    ['a limit the reply fits', 'Echo: hello world', 5, { text: 'Echo: hello world', tokens: 5, cut: false }],
    ['a smaller limit', 'Echo: hello world', 2, { text: 'Echo: he', tokens: 2, cut: true }],
    ['a limit of zero', 'Echo: hi', 0, { text: '', tokens: 0, cut: true }],
    ['a cut inside a surrogate pair', 'Ech😀 and more', 1, { text: 'Ech', tokens: 1, cut: true }],
    ['a cut after a surrogate pair', 'Ec😀 and more', 1, { text: 'Ec😀', tokens: 1, cut: true }],
  ])('cuts to 4 characters per token only past the limit: %s', (_name, text, max, expected) => {
    expect(limitText(text, max)).toEqual(expected);
  });

  it('cutChars keeps short text as it is', () => {
    expect(cutChars('abc', 10)).toBe('abc');
  });
});

describe('splitArguments', () => {
  it.each([['{}'], ['{"city":"Oslo","days":3}'], ['x'], [''], ['{"e":"😀😀😀"}']])('splits %j into at most three pieces that join back', (args) => {
    const pieces = splitArguments(args);
    expect(pieces.join('')).toBe(args);
    expect(pieces.length).toBeLessThanOrEqual(3);
    expect(pieces.length).toBe(Math.max(1, Math.min(3, args.length)));
    for (const piece of pieces) expect(/[\ud800-\udbff]$/.test(piece)).toBe(false);
  });
});

describe('estimateTokens', () => {
  it('is ceil(chars / 4) and at least 1', () => {
    expect(estimateTokens(0)).toBe(1);
    expect(estimateTokens(4)).toBe(1);
    expect(estimateTokens(5)).toBe(2);
    expect(estimateTokens(400)).toBe(100);
  });
});

describe('splitPieces', () => {
  it('splits into words carrying their leading whitespace', () => {
    expect(splitPieces('Echo: hello big world')).toEqual(['Echo:', ' hello', ' big', ' world']);
  });

  it('always joins back to the original text', () => {
    for (const text of ['', ' ', 'one', '  lead and trail  ', 'a\nb\t c', 'x  y']) {
      const pieces = splitPieces(text);
      expect(pieces.join('')).toBe(text);
      expect(pieces.length).toBeGreaterThan(0);
    }
  });
});

describe('embedVector', () => {
  it('is deterministic, unit length, and differs between inputs', () => {
    const a = embedVector('hello', 8);
    expect(Array.from(embedVector('hello', 8))).toEqual(Array.from(a));
    expect(Array.from(embedVector('hellp', 8))).not.toEqual(Array.from(a));
    expect(Array.from(embedVector([1, 2, 3], 8))).not.toEqual(Array.from(embedVector('123', 8)));
    const norm = Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));
    expect(norm).toBeCloseTo(1, 5);
    expect(embedVector('x', 3)).toHaveLength(3);
  });

  it('encodes base64 as float32 little-endian', () => {
    const v = embedVector('hello', 4);
    const bytes = Buffer.from(toBase64(v), 'base64');
    expect(bytes).toHaveLength(16);
    expect([0, 1, 2, 3].map((i) => bytes.readFloatLE(i * 4))).toEqual(Array.from(v));
  });
});
