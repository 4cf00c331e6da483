import { describe, expect, it } from 'vitest';
import { embedVector, toBase64 } from '../../../src/dev-upstream/embedding.ts';
import {
  DEFAULT_REPLY,
  MAX_ECHO_CHARS,
  chatPrompt,
  estimateTokens,
  replyText,
  responsesPrompt,
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
        ],
        undefined,
      ),
    ).toEqual({ chars: 2 + 2 + 6, lastUserText: 'q2' });
    expect(responsesPrompt(undefined, undefined)).toEqual({ chars: 0, lastUserText: '' });
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
