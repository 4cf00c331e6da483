// The gateway's view of a streamed (server-sent events) upstream answer: it splits the bytes
// into events as they arrive, rewrites the Responses API's `response.id` to the gateway's
// own id event by event, and rebuilds the final JSON body that is stored for the request
// (DESIGN 1.1): a Responses stream's last `response` snapshot (the `response.completed`
// event's), or a chat.completion assembled from chat chunks. Pure: no I/O.
import { isRecord, parseJson } from './json.ts';
import { SseSplitter, type SseEvent } from './sse.ts';

export { SseSplitter, type SseEvent } from './sse.ts';

/** Captured event data beyond this many bytes is dropped (the stream itself is not cut). */
export const MAX_CAPTURE_BYTES = 32 * 1024 * 1024;

export type StreamKind = 'responses' | 'chat' | 'raw';

/**
 * One streamed answer passing through the gateway. `push` returns what to send to the
 * client now; `end` what is left when the upstream finishes; `body` the final JSON body to
 * store. With a `responseId` (the Responses API), every event carrying a `response`
 * snapshot has its id replaced; other events pass through byte for byte.
 */
export interface StreamTap {
  push(chunk: Uint8Array): Uint8Array | string;
  /** What is left when the upstream finishes (with `holdTerminal`, the held events first). */
  end(): string;
  body(): string;
}

export interface StreamTapOptions {
  kind: StreamKind;
  /** Replace `response.id` in Responses events with this id. */
  responseId?: string;
  maxCaptureBytes?: number;
  /**
   * Hold back the stream's terminal events (`response.completed`/`failed`/`incomplete`, a chat
   * chunk with a finish reason, `[DONE]`) and everything after them, for `end()` to return:
   * the client does not hold a complete answer before the caller has stored it
   * (DURABILITY=strict, and read-your-writes on /v1/responses).
   */
  holdTerminal?: boolean;
  /**
   * Makes each `response` snapshot of a Responses stream what the client gets (complete,
   * with volley's id, answers.ts); the captured body is the last one so made.
   */
  snapshot?: (response: Record<string, unknown>) => Record<string, unknown>;
}

export function createStreamTap(opts: StreamTapOptions): StreamTap {
  const splitter = new SseSplitter();
  const capture = createCapture(opts.kind, opts.maxCaptureBytes ?? MAX_CAPTURE_BYTES, opts.snapshot);
  const rewriteId = opts.kind === 'responses' ? opts.responseId : undefined;
  if (rewriteId === undefined && !opts.holdTerminal) {
    // Nothing to rewrite or hold: the client gets each chunk the moment it arrives.
    return {
      push(chunk) {
        for (const event of splitter.push(chunk)) capture.event(event);
        return chunk;
      },
      end() {
        for (const event of splitter.end()) capture.event(event);
        return '';
      },
      body: () => capture.body(),
    };
  }
  // Rewriting and holding need whole events; an upstream flushes whole events, so nothing
  // waits long.
  let holding = false;
  let held = '';
  const forward = (events: SseEvent[]): string => {
    let out = '';
    for (const event of events) {
      const text = capture.event(event, rewriteId) ?? event.raw;
      if (opts.holdTerminal && (holding || isTerminalEvent(opts.kind, event))) {
        holding = true;
        held += text;
      } else {
        out += text;
      }
    }
    return out;
  };
  return {
    push: (chunk) => forward(splitter.push(chunk)),
    end: () => {
      const rest = forward(splitter.end());
      const out = held + rest;
      held = '';
      return out;
    },
    body: () => capture.body(),
  };
}

const RESPONSE_END = /"type"\s*:\s*"response\.(completed|failed|incomplete)"/;
const CHAT_FINISH = /"finish_reason"\s*:\s*"/;

/** Whether an event ends the answer: after it, the client holds all there is. */
function isTerminalEvent(kind: StreamKind, event: SseEvent): boolean {
  const data = event.data;
  if (data === undefined) return false;
  if (data.trim() === '[DONE]') return true;
  if (kind === 'responses') return RESPONSE_END.test(data);
  if (kind === 'chat') return CHAT_FINISH.test(data);
  return false;
}

interface Capture {
  /** Records the event; returns its rewritten text when `rewriteId` changed it. */
  event(event: SseEvent, rewriteId?: string): string | undefined;
  body(): string;
}

function createCapture(
  kind: StreamKind,
  maxBytes: number,
  snapshot?: (response: Record<string, unknown>) => Record<string, unknown>,
): Capture {
  switch (kind) {
    case 'responses':
      return responsesCapture(maxBytes, snapshot);
    case 'chat':
      return chatCapture(maxBytes);
    case 'raw':
      return rawCapture(maxBytes);
  }
}

/** JSON payload of an event's data, or undefined for `[DONE]`, comments and non-JSON. */
function eventJson(event: SseEvent): Record<string, unknown> | undefined {
  const data = event.data;
  if (data === undefined || data === '' || data === '[DONE]') return undefined;
  const value = parseJson(data);
  return isRecord(value) ? value : undefined;
}

function responsesCapture(maxBytes: number, complete?: (response: Record<string, unknown>) => Record<string, unknown>): Capture {
  // Every event carrying the whole response (created, in_progress, completed, failed,
  // incomplete) is a newer snapshot than the one before, so the last is the final state,
  // or the best there is when the stream was cut short.
  let snapshot: string | undefined;
  let error: Record<string, unknown> | undefined;
  return {
    event(event, rewriteId) {
      const data = event.data;
      // Deltas (most events) carry no snapshot; skip parsing them.
      if (data === undefined || (!data.includes('"response":') && !data.includes('"error"'))) return undefined;
      const value = eventJson(event);
      if (value === undefined) return undefined;
      const response = value.response;
      if (!isRecord(response)) {
        if (value.type === 'error' || isRecord(value.error)) error = value;
        return undefined;
      }
      let rewritten: string | undefined;
      let final = response;
      if (complete !== undefined) {
        final = complete(response);
        value.response = final;
        rewritten = replaceData(event.raw, JSON.stringify(value));
      } else if (rewriteId !== undefined && typeof response.id === 'string' && response.id !== rewriteId) {
        response.id = rewriteId;
        rewritten = replaceData(event.raw, JSON.stringify(value));
      }
      const text = JSON.stringify(final);
      if (text.length <= maxBytes) snapshot = text;
      return rewritten;
    },
    body() {
      if (snapshot !== undefined) return snapshot;
      return error === undefined ? '' : JSON.stringify(errorEnvelope(error));
    },
  };
}

/** An OpenAI error envelope from a stream's error event (`{type:"error", …}` or `{error}`). */
function errorEnvelope(event: Record<string, unknown>): Record<string, unknown> {
  if (isRecord(event.error)) return { error: event.error };
  const { type: _type, sequence_number: _seq, ...rest } = event;
  return { error: rest };
}

/** The event with its data lines replaced by one `data:` line holding `data`. */
function replaceData(raw: string, data: string): string {
  let replaced = false;
  const lines = raw.split(/(\r\n|\n|\r)/);
  const out: string[] = [];
  // split with a capture group alternates [line, separator, line, separator, …].
  for (let i = 0; i < lines.length; i += 2) {
    const line = lines[i]!;
    const sep = lines[i + 1] ?? '';
    if (line.startsWith('data:')) {
      if (replaced) continue;
      replaced = true;
      out.push(`data: ${data}`, sep);
    } else {
      out.push(line, sep);
    }
  }
  return out.join('');
}

interface ToolCallAcc {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

interface ChoiceAcc {
  role: string;
  content: string | null;
  refusal: string | null;
  toolCalls: ToolCallAcc[];
  finishReason: unknown;
}

/**
 * Assembles chat.completion.chunk events into the chat.completion a non-streamed call would
 * have returned: content, refusal and tool calls per choice, the finish reasons, and usage
 * (sent on a final chunk with no choices under `stream_options.include_usage`).
 */
function chatCapture(maxBytes: number): Capture {
  let head: Record<string, unknown> | undefined;
  let usage: unknown = null;
  let error: Record<string, unknown> | undefined;
  let bytes = 0;
  let truncated = false;
  const choices = new Map<number, ChoiceAcc>();
  return {
    event(event) {
      const chunk = eventJson(event);
      if (chunk === undefined) return undefined;
      if (chunk.object !== 'chat.completion.chunk') {
        if (isRecord(chunk.error)) error = chunk;
        return undefined;
      }
      head ??= chunk;
      if (isRecord(chunk.usage)) usage = chunk.usage;
      if (!Array.isArray(chunk.choices)) return undefined;
      for (const choice of chunk.choices) {
        if (!isRecord(choice)) continue;
        const index = typeof choice.index === 'number' ? choice.index : 0;
        let acc = choices.get(index);
        if (acc === undefined) {
          acc = { role: 'assistant', content: null, refusal: null, toolCalls: [], finishReason: null };
          choices.set(index, acc);
        }
        if (choice.finish_reason !== undefined && choice.finish_reason !== null) acc.finishReason = choice.finish_reason;
        const delta = choice.delta;
        if (!isRecord(delta)) continue;
        if (typeof delta.role === 'string') acc.role = delta.role;
        const size = (event.data ?? '').length;
        if (bytes + size > maxBytes) {
          truncated = true;
          continue;
        }
        bytes += size;
        if (typeof delta.content === 'string') acc.content = (acc.content ?? '') + delta.content;
        if (typeof delta.refusal === 'string') acc.refusal = (acc.refusal ?? '') + delta.refusal;
        if (Array.isArray(delta.tool_calls)) appendToolCalls(acc.toolCalls, delta.tool_calls);
      }
      return undefined;
    },
    body() {
      if (head === undefined) return error === undefined ? '' : JSON.stringify({ error: error.error });
      const completion: Record<string, unknown> = {
        id: head.id,
        object: 'chat.completion',
        created: head.created,
        model: head.model,
        choices: [...choices.entries()]
          .sort(([a], [b]) => a - b)
          .map(([index, c]) => ({ index, message: chatMessage(c), logprobs: null, finish_reason: c.finishReason })),
        usage,
      };
      if (head.system_fingerprint !== undefined) completion.system_fingerprint = head.system_fingerprint;
      if (head.service_tier !== undefined) completion.service_tier = head.service_tier;
      if (truncated) completion.volley_capture_truncated = true;
      return JSON.stringify(completion);
    },
  };
}

function chatMessage(c: ChoiceAcc): Record<string, unknown> {
  const message: Record<string, unknown> = { role: c.role, content: c.content, refusal: c.refusal };
  // filter() drops the holes a stream that skipped an index would leave.
  const calls = c.toolCalls.filter((call) => call !== undefined);
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

// Tool calls stream as fragments keyed by `index`: the first carries id and name, the rest
// append to `arguments`.
function appendToolCalls(calls: ToolCallAcc[], deltas: unknown[]): void {
  for (const delta of deltas) {
    if (!isRecord(delta)) continue;
    const index = typeof delta.index === 'number' ? delta.index : 0;
    const call = (calls[index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
    if (typeof delta.id === 'string') call.id = delta.id;
    if (typeof delta.type === 'string') call.type = delta.type;
    const fn = delta.function;
    if (!isRecord(fn)) continue;
    if (typeof fn.name === 'string') call.function.name += fn.name;
    if (typeof fn.arguments === 'string') call.function.arguments += fn.arguments;
  }
}

/** A stream of some other shape is stored as received, up to the capture limit. */
function rawCapture(maxBytes: number): Capture {
  let text = '';
  return {
    event(event) {
      if (text.length + event.raw.length <= maxBytes) text += event.raw;
      return undefined;
    },
    body: () => text,
  };
}

/**
 * A non-streamed Responses API body with its `id` replaced, or undefined when the body is
 * not a JSON object with a string id (an error envelope, say), which then passes unchanged.
 */
export function rewriteResponseBodyId(body: string, responseId: string): string | undefined {
  const value = parseJson(body);
  if (!isRecord(value) || typeof value.id !== 'string') return undefined;
  value.id = responseId;
  return JSON.stringify(value);
}
