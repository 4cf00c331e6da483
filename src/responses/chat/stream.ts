// A streamed chat answer (chat.completion.chunk objects) → Responses semantic stream events
// (DESIGN 10), numbered by a gap-free `sequence_number` from 0. Pure: the caller reads the
// upstream, parses each `data:` line and hands the object in; this module keeps the state.
//
// - `response.created` and `response.in_progress` come with the first push (or with `end` if
//   nothing was pushed), so every stream is well-formed from its first event to its last.
// - Output items get `output_index` in order of first appearance. Text and refusal deltas go
//   to the open message item; a tool call starting closes it (text after that opens a new
//   message item). Tool calls are keyed by their chunk `index` (by `id`, or else the latest
//   call, for engines that omit it) and stay open until the finish reason, because engines may
//   interleave their argument fragments.
// - A finish reason closes every open item (`incomplete` for length / content_filter); the
//   terminal event waits for `end`, because usage arrives on a later chunk.
// - The end: after a finish reason → `response.completed` / `response.incomplete`. Without
//   one, the answer counts as complete only if the upstream sent `[DONE]` (`end({done:true})`);
//   a stream that just stops is `response.failed`, as are an error chunk and
//   `end({aborted: true})`. Failed responses keep their partial items, marked incomplete.
import type {
  Response,
  ResponseError,
  ResponseOutputItem,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import {
  fallbackCallId,
  finishOutcome,
  functionCallItemId,
  messageItemId,
  outputText,
  type ContentPart,
  type IncompleteDetails,
  type Outcome,
  type TranslationContext,
} from './output.ts';
import {
  argumentsDelta,
  closeEntry,
  itemAdded,
  partAdded,
  partDelta,
  toOutputItem,
  type CallEntry,
  type Entry,
  type MessageEntry,
} from './stream-items.ts';
import { readChunk, type ChunkToolCall } from './upstream.ts';
import { toResponseUsage } from './usage.ts';

export type StreamStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** What the caller's `snapshot` turns into the complete `response` object of an event. */
export interface StreamState {
  status: StreamStatus;
  output: ResponseOutputItem[];
  usage: ResponseUsage | null;
  incomplete_details: IncompleteDetails | null;
  error: ResponseError | null;
}

/** The translated answer, shaped like fromChatCompletion's, plus the stream's own outcomes. */
export interface StreamResult extends Omit<StreamState, 'status'> {
  status: StreamStatus;
  output_text: string;
}

export interface StreamContext extends TranslationContext {
  /** Builds the complete Responses object carried by the lifecycle events. */
  snapshot: (state: StreamState) => Record<string, unknown>;
}

export interface EndOptions {
  /** The upstream sent `data: [DONE]`. */
  done?: boolean;
  /** The upstream stream broke (socket error, timeout): the response fails. */
  aborted?: boolean;
  /** The failure message for `aborted` (never upstream content). */
  message?: string;
}

export interface ChatStreamTranslator {
  /** One parsed chat.completion.chunk in; the events it produces out. */
  push(chunk: unknown): ResponseStreamEvent[];
  /** The upstream ended; the closing events (nothing if the response already ended). */
  end(opts?: EndOptions): ResponseStreamEvent[];
  /** The answer so far; after `end`, the answer to record. */
  final(): StreamResult;
}

const STOPPED_EARLY = 'The model server closed the stream before the answer was finished.';
const INTERRUPTED = 'The stream from the model server was interrupted.';

/** A translator for one streamed answer; see the module comment for the event rules. */
export function createChatStreamTranslator(ctx: StreamContext): ChatStreamTranslator {
  let sequence = 0;
  const seq = () => sequence++;
  let started = false;
  let finished: Outcome | undefined;
  let terminal: StreamStatus | undefined;
  let usage: ResponseUsage | null = null;
  let error: ResponseError | null = null;
  const entries: Entry[] = [];
  let message: MessageEntry | undefined;
  let messageCount = 0;
  const calls = new Map<string, CallEntry>();
  let lastCall: CallEntry | undefined;

  const state = (): StreamState => ({
    status: terminal ?? 'in_progress',
    output: entries.map(toOutputItem),
    usage,
    incomplete_details: terminal === 'incomplete' ? (finished?.incomplete_details ?? null) : null,
    error,
  });
  const response = (): Response => ctx.snapshot(state()) as unknown as Response;

  function start(events: ResponseStreamEvent[]): void {
    if (started) return;
    started = true;
    events.push({ type: 'response.created', response: response(), sequence_number: seq() });
    events.push({ type: 'response.in_progress', response: response(), sequence_number: seq() });
  }

  function openMessage(events: ResponseStreamEvent[]): MessageEntry {
    const entry: MessageEntry = { kind: 'message', id: messageItemId(ctx.itemIdSeed, messageCount++), outputIndex: entries.length, parts: [], status: 'in_progress' };
    entries.push(entry);
    events.push(itemAdded(entry, seq));
    return entry;
  }

  function addText(type: ContentPart['type'], delta: string, events: ResponseStreamEvent[]): void {
    message ??= openMessage(events);
    let index = message.parts.findIndex((p) => p.type === type);
    if (index < 0) {
      const added = partAdded(message, type, seq);
      index = added.index;
      events.push(added.event);
    }
    events.push(partDelta(message, index, delta, seq));
  }

  function callFor(call: ChunkToolCall): { key: string | undefined; entry: CallEntry | undefined } {
    if (call.index !== undefined) {
      const key = `#${call.index}`;
      const entry = calls.get(key);
      // Some engines number every call 0: another upstream id under a known index is a new call.
      if (entry?.upstreamId && call.id !== undefined && call.id !== entry.callId) return { key, entry: undefined };
      return { key, entry };
    }
    if (call.id !== undefined) return { key: `id:${call.id}`, entry: [...calls.values()].find((e) => e.callId === call.id) };
    return { key: undefined, entry: lastCall };
  }

  function addToolCall(call: ChunkToolCall, events: ResponseStreamEvent[]): void {
    const found = callFor(call);
    let entry = found.entry;
    if (entry === undefined) {
      if (message) events.push(...closeEntry(message, 'completed', seq));
      message = undefined;
      const n = calls.size;
      entry = {
        kind: 'function_call',
        id: functionCallItemId(ctx.itemIdSeed, n),
        outputIndex: entries.length,
        callId: call.id ?? fallbackCallId(ctx.itemIdSeed, n),
        upstreamId: call.id !== undefined,
        name: call.name ?? '',
        arguments: '',
        status: 'in_progress',
      };
      entries.push(entry);
      calls.set(found.key ?? `#auto${n}`, entry);
      events.push(itemAdded(entry, seq));
    } else if (entry.name === '' && call.name) {
      entry.name = call.name;
    }
    lastCall = entry;
    if (call.arguments) events.push(argumentsDelta(entry, call.arguments, seq));
  }

  function finish(outcome: Outcome, events: ResponseStreamEvent[]): Outcome {
    finished = outcome;
    // An answer with no items is an empty message, as in fromChatCompletion.
    if (entries.length === 0) {
      const entry = openMessage(events);
      events.push(partAdded(entry, 'output_text', seq).event);
    }
    const status = outcome.status === 'incomplete' ? 'incomplete' : 'completed';
    for (const entry of entries) if (entry.status === 'in_progress') events.push(...closeEntry(entry, status, seq));
    message = undefined;
    return outcome;
  }

  function fail(text: string, events: ResponseStreamEvent[]): void {
    error = { code: 'server_error', message: text };
    for (const entry of entries) if (entry.status === 'in_progress') entry.status = 'incomplete';
    terminal = 'failed';
    events.push({ type: 'response.failed', response: response(), sequence_number: seq() });
  }

  return {
    push(chunk) {
      if (terminal) return [];
      const events: ResponseStreamEvent[] = [];
      start(events);
      const reading = readChunk(chunk);
      if (reading.kind === 'error') {
        fail(reading.message, events);
        return events;
      }
      usage = toResponseUsage(reading.usage) ?? usage;
      // Choice 0 is over once it has a finish reason; later chunks can only bring usage.
      if (finished) return events;
      if (reading.content !== '') addText('output_text', reading.content, events);
      if (reading.refusal !== '') addText('refusal', reading.refusal, events);
      for (const call of reading.toolCalls) addToolCall(call, events);
      if (reading.finishReason !== undefined) finish(finishOutcome(reading.finishReason), events);
      return events;
    },

    end(opts = {}) {
      if (terminal) return [];
      const events: ResponseStreamEvent[] = [];
      start(events);
      if (opts.aborted) {
        fail(opts.message ?? INTERRUPTED, events);
        return events;
      }
      if (!finished && !opts.done) {
        fail(STOPPED_EARLY, events);
        return events;
      }
      const outcome = finished ?? finish(finishOutcome(undefined), events);
      terminal = outcome.status;
      const type = outcome.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
      events.push({ type, response: response(), sequence_number: seq() });
      return events;
    },

    final() {
      const s = state();
      return { ...s, output_text: outputText(s.output) };
    },
  };
}
