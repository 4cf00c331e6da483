// The output items of a streamed translation while they are being written, and the Responses
// events that open, extend and close them. Each builder takes `seq`, which hands out the next
// sequence number, so events are numbered in the order they are built.
import type {
  ResponseOutputItem,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import {
  functionCallItem,
  outputMessage,
  outputTextPart,
  type ContentPart,
  type ItemStatus,
} from './output.ts';

export type Seq = () => number;

export interface MessageEntry {
  kind: 'message';
  id: string;
  outputIndex: number;
  parts: ContentPart[];
  status: ItemStatus;
}

export interface CallEntry {
  kind: 'function_call';
  id: string;
  outputIndex: number;
  callId: string;
  /** Whether `callId` came from the engine (else it is a fallback id). */
  upstreamId: boolean;
  name: string;
  arguments: string;
  status: ItemStatus;
}

export type Entry = MessageEntry | CallEntry;

/** A fresh output item for the entry's current state (callers may keep or change it). */
export function toOutputItem(entry: Entry): ResponseOutputItem {
  if (entry.kind === 'message') return outputMessage(entry.id, entry.parts, entry.status);
  return functionCallItem(entry);
}

export function itemAdded(entry: Entry, seq: Seq): ResponseStreamEvent {
  return { type: 'response.output_item.added', output_index: entry.outputIndex, item: toOutputItem(entry), sequence_number: seq() };
}

/** Adds an empty part of `type` to the message; returns its content index and the event. */
export function partAdded(entry: MessageEntry, type: ContentPart['type'], seq: Seq): { index: number; event: ResponseStreamEvent } {
  const part: ContentPart = type === 'output_text' ? { type, text: '' } : { type, refusal: '' };
  entry.parts.push(part);
  const index = entry.parts.length - 1;
  return {
    index,
    event: {
      type: 'response.content_part.added',
      item_id: entry.id,
      output_index: entry.outputIndex,
      content_index: index,
      part: part.type === 'output_text' ? outputTextPart('') : { type: 'refusal', refusal: '' },
      sequence_number: seq(),
    },
  };
}

/** Appends `delta` to the message's part `index` and describes it. */
export function partDelta(entry: MessageEntry, index: number, delta: string, seq: Seq): ResponseStreamEvent {
  const part = entry.parts[index];
  const base = { item_id: entry.id, output_index: entry.outputIndex, content_index: index, delta };
  if (part?.type === 'refusal') {
    part.refusal += delta;
    return { type: 'response.refusal.delta', ...base, sequence_number: seq() };
  }
  if (part) part.text += delta;
  return { type: 'response.output_text.delta', ...base, logprobs: [], sequence_number: seq() };
}

export function argumentsDelta(entry: CallEntry, delta: string, seq: Seq): ResponseStreamEvent {
  entry.arguments += delta;
  return {
    type: 'response.function_call_arguments.delta',
    item_id: entry.id,
    output_index: entry.outputIndex,
    delta,
    sequence_number: seq(),
  };
}

/** Marks the entry `status` and returns the events that finish it: parts (or arguments), then the item. */
export function closeEntry(entry: Entry, status: ItemStatus, seq: Seq): ResponseStreamEvent[] {
  entry.status = status;
  const where = { item_id: entry.id, output_index: entry.outputIndex };
  const events: ResponseStreamEvent[] = [];
  if (entry.kind === 'message') {
    for (const [index, part] of entry.parts.entries()) {
      if (part.type === 'output_text') {
        events.push({ type: 'response.output_text.done', ...where, content_index: index, text: part.text, logprobs: [], sequence_number: seq() });
      } else {
        events.push({ type: 'response.refusal.done', ...where, content_index: index, refusal: part.refusal, sequence_number: seq() });
      }
      const done = part.type === 'output_text' ? outputTextPart(part.text) : { type: 'refusal' as const, refusal: part.refusal };
      events.push({ type: 'response.content_part.done', ...where, content_index: index, part: done, sequence_number: seq() });
    }
  } else {
    events.push({ type: 'response.function_call_arguments.done', ...where, name: entry.name, arguments: entry.arguments, sequence_number: seq() });
  }
  events.push({ type: 'response.output_item.done', output_index: entry.outputIndex, item: toOutputItem(entry), sequence_number: seq() });
  return events;
}
