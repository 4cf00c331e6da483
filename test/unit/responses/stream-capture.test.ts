import { describe, expect, it } from 'vitest';
import { chatCompletions } from '../../../src/dev-upstream/chat.ts';
import { createResponse } from '../../../src/dev-upstream/responses.ts';
import type { Answer } from '../../../src/dev-upstream/answer.ts';
import {
  SseSplitter,
  createStreamTap,
  rewriteResponseBodyId,
  type StreamKind,
} from '../../../src/responses/stream-capture.ts';

let n = 0;
const mintId = (prefix: string) => `${prefix}test${n++}`;
const encoder = new TextEncoder();

function sse(answer: Answer): string {
  if (answer.kind !== 'sse') throw new Error(`expected an SSE answer, got ${answer.kind}`);
  return answer.chunks.join('');
}

function json(answer: Answer): unknown {
  if (answer.kind !== 'json') throw new Error(`expected a JSON answer, got ${answer.kind}`);
  return answer.body;
}

/** Feeds `text` to a tap in chunks of `size` bytes; returns what the client got and the body. */
function run(text: string, kind: StreamKind, size: number, responseId?: string) {
  const tap = createStreamTap({ kind, ...(responseId ? { responseId } : {}) });
  const bytes = encoder.encode(text);
  const decoder = new TextDecoder();
  let out = '';
  for (let i = 0; i < bytes.length; i += size) {
    const piece = tap.push(bytes.subarray(i, i + size));
    out += typeof piece === 'string' ? piece : decoder.decode(piece, { stream: true });
  }
  out += decoder.decode() + tap.end();
  return { out, body: JSON.parse(tap.body()) as Record<string, unknown> };
}

describe('SseSplitter', () => {
  it('yields each event once it is complete, keeping its raw text', () => {
    const s = new SseSplitter();
    expect(s.push('event: a\ndata: {"x"')).toEqual([]);
    expect(s.push(':1}\n\ndata: 2\n')).toEqual([{ raw: 'event: a\ndata: {"x":1}\n\n', data: '{"x":1}' }]);
    expect(s.push('\n')).toEqual([{ raw: 'data: 2\n\n', data: '2' }]);
    expect(s.end()).toEqual([]);
  });

  it('accepts CRLF line ends and joins multi-line data', () => {
    const s = new SseSplitter();
    expect(s.push('data: a\r\ndata: b\r\n\r\n')).toEqual([{ raw: 'data: a\r\ndata: b\r\n\r\n', data: 'a\nb' }]);
  });

  it('does not split a multi-byte character cut between chunks', () => {
    const s = new SseSplitter();
    const bytes = encoder.encode('data: héllo\n\n');
    expect(s.push(bytes.subarray(0, 8))).toEqual([]);
    expect(s.push(bytes.subarray(8))[0]?.data).toBe('héllo');
  });

  it('returns an unterminated last event at the end', () => {
    const s = new SseSplitter();
    s.push('data: tail');
    expect(s.end()).toEqual([{ raw: 'data: tail', data: 'tail' }]);
  });
});

describe('chat stream capture', () => {
  const body = {
    model: 'm',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hello there world' }],
  };

  it.each([1, 7, 64, 100_000])('assembles the chat.completion with usage (chunks of %i bytes)', (size) => {
    const stream = sse(chatCompletions(body, 'm', mintId, 1_700_000_000));
    const expected = json(chatCompletions({ ...body, stream: false }, 'm', mintId, 1_700_000_000)) as Record<
      string,
      unknown
    >;
    const { out, body: captured } = run(stream, 'chat', size);
    expect(out).toBe(stream);
    expect(captured).toMatchObject({
      object: 'chat.completion',
      model: 'm',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Echo: hello there world' }, finish_reason: 'stop' },
      ],
      usage: expected.usage as object,
    });
  });

  it('reassembles tool calls from fragments', () => {
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const stream =
      chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get', arguments: '' } }] }) +
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }) +
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }) +
      chunk({}, 'tool_calls') +
      'data: [DONE]\n\n';
    const { body: captured } = run(stream, 'chat', 5);
    expect(captured.choices).toEqual([
      {
        index: 0,
        logprobs: null,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }],
        },
      },
    ]);
    expect(captured.usage).toBeNull();
  });

  it('stores an error sent inside the stream as an error envelope', () => {
    const tap = createStreamTap({ kind: 'chat' });
    tap.push(encoder.encode('data: {"error":{"message":"boom","type":"server_error"}}\n\n'));
    tap.end();
    expect(JSON.parse(tap.body())).toEqual({ error: { message: 'boom', type: 'server_error' } });
  });

  it('drops content past the capture limit but keeps forwarding', () => {
    const tap = createStreamTap({ kind: 'chat', maxCaptureBytes: 200 });
    const stream = sse(chatCompletions({ ...body, messages: [{ role: 'user', content: 'a b c d e f g h i j' }] }, 'm', mintId, 1));
    const out = tap.push(encoder.encode(stream));
    tap.end();
    expect(new TextDecoder().decode(out as Uint8Array)).toBe(stream);
    expect(JSON.parse(tap.body())).toMatchObject({ volley_capture_truncated: true });
  });
});

describe('responses stream capture', () => {
  const body = { model: 'm', stream: true, input: 'say something' };
  const ours = 'resp_0191f3a4-6b2c-7d3e-8f40-123456789abc';

  it.each([1, 13, 100_000])('rewrites response.id in every snapshot event (chunks of %i bytes)', (size) => {
    const stream = sse(createResponse(body, 'm', mintId, 1_700_000_000));
    const { out, body: captured } = run(stream, 'responses', size, ours);
    const events = out
      .split('\n\n')
      .filter(Boolean)
      .map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as Record<string, unknown>);
    const original = stream.split('\n\n').filter(Boolean);
    expect(events).toHaveLength(original.length);
    const snapshots = events.filter((e) => typeof e.response === 'object');
    expect(snapshots.map((e) => e.type)).toEqual(['response.created', 'response.in_progress', 'response.completed']);
    for (const e of snapshots) expect((e.response as { id: string }).id).toBe(ours);
    // Events without a snapshot pass through byte for byte, event names included.
    const deltas = original.filter((e) => e.startsWith('event: response.output_text.delta'));
    for (const d of deltas) expect(out).toContain(d);
    expect(captured).toMatchObject({ id: ours, object: 'response', status: 'completed', usage: { total_tokens: expect.any(Number) } });
    expect(captured.output).toEqual((json(createResponse({ ...body, stream: false }, 'm', mintId, 1)) as { output: unknown[] }).output.map((o) => ({ ...(o as object), id: expect.any(String) })));
  });

  it('emits each rewritten event as soon as its blank line arrives', () => {
    const tap = createStreamTap({ kind: 'responses', responseId: ours });
    const created = 'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_up","status":"in_progress"}}\n\n';
    expect(tap.push(encoder.encode(created.slice(0, 40)))).toBe('');
    expect(tap.push(encoder.encode(created.slice(40)))).toBe(
      `event: response.created\ndata: {"type":"response.created","response":{"id":"${ours}","status":"in_progress"}}\n\n`,
    );
  });

  it('keeps the last snapshot when the stream is cut short', () => {
    const stream = sse(createResponse(body, 'm', mintId, 1));
    const cut = stream.slice(0, stream.indexOf('event: response.output_item.added'));
    const { body: captured } = run(cut, 'responses', 10, ours);
    expect(captured).toMatchObject({ id: ours, status: 'in_progress' });
  });

  it('stores an error event as an error envelope', () => {
    const tap = createStreamTap({ kind: 'responses', responseId: ours });
    tap.push(encoder.encode('event: error\ndata: {"type":"error","code":"x","message":"boom","param":null,"sequence_number":1}\n\n'));
    tap.end();
    expect(JSON.parse(tap.body())).toEqual({ error: { code: 'x', message: 'boom', param: null } });
  });
});

describe('rewriteResponseBodyId', () => {
  it('replaces the id of a response object', () => {
    expect(JSON.parse(rewriteResponseBodyId('{"id":"resp_up","object":"response","x":1}', 'resp_ours')!)).toEqual({
      id: 'resp_ours',
      object: 'response',
      x: 1,
    });
  });

  it('leaves error envelopes and non-JSON alone', () => {
    expect(rewriteResponseBodyId('{"error":{"message":"no"}}', 'resp_ours')).toBeUndefined();
    expect(rewriteResponseBodyId('not json', 'resp_ours')).toBeUndefined();
  });
});

describe('SseSplitter bounds', () => {
  it('scans each chunk once: a long event in one-byte chunks takes linear time', () => {
    // 200,000 one-character pushes: a rescan from the start on every push would cost
    // 2e10 character comparisons; a linear scan costs a few hundred thousand.
    const s = new SseSplitter();
    const data = 'x'.repeat(200_000);
    const text = `data: ${data}\n\n`;
    const events = [];
    for (const ch of text) events.push(...s.push(ch));
    expect(events).toEqual([{ raw: text, data }]);
  });

  it('finds an event end that straddles two chunks', () => {
    const s = new SseSplitter();
    expect(s.push('data: a\r\n\r')).toEqual([]);
    expect(s.push('\ndata: b\n\n')).toEqual([
      { raw: 'data: a\r\n\r\n', data: 'a' },
      { raw: 'data: b\n\n', data: 'b' },
    ]);
  });

  it('hands an event longer than its bound on in raw pieces, holding no more than the bound', () => {
    const s = new SseSplitter({ maxEventChars: 1_000 });
    const pieces = [];
    for (let i = 0; i < 10; i++) pieces.push(...s.push(`data: ${'y'.repeat(500)}`));
    expect(pieces.length).toBeGreaterThan(0);
    for (const p of pieces) expect(p.data).toBeUndefined();
    const rest = [...s.push('\n\n'), ...s.end()];
    // Nothing is lost: the pieces and the rest are the stream's text.
    expect([...pieces, ...rest].map((e) => e.raw).join('')).toBe(`${`data: ${'y'.repeat(500)}`.repeat(10)}\n\n`);
  });
});

describe('answers with raw control characters', () => {
  it('a chat chunk with a raw NUL byte in its content is captured, not dropped', () => {
    const chunk = (content: string) =>
      `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`;
    const text = chunk('Echo: a') + chunk(' b\u0000c') + chunk(' d') + 'data: [DONE]\n\n';
    const { body } = run(text, 'chat', 7);
    const message = (body.choices as { message: { content: string } }[])[0]!.message;
    expect(message.content).toBe('Echo: a b\u0000c d');
  });
});
