// What the non-streamed and the streamed translation share: the translated answer's shape,
// deterministic item ids, the finish-reason mapping and the output item builders, so that a
// streamed and a non-streamed answer are recorded identically.
import type {
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseUsage,
} from 'openai/resources/responses/responses';

export interface TranslationContext {
  /** The response's id (`resp_…`), for the caller's snapshots; items do not embed it. */
  responseId: string;
  /** Item ids are derived from it, so rebuilding the object later gives the same ids. */
  itemIdSeed: string;
}

export type IncompleteDetails = { reason: 'max_output_tokens' | 'content_filter' };
export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

/** The Responses view of one chat answer: the fields a response object takes from it. */
export interface TranslatedResponse {
  status: 'completed' | 'incomplete';
  output: ResponseOutputItem[];
  usage: ResponseUsage | null;
  incomplete_details: IncompleteDetails | null;
  output_text: string;
}

export interface Outcome {
  status: 'completed' | 'incomplete';
  incomplete_details: IncompleteDetails | null;
}

/**
 * `length` → incomplete (max_output_tokens), `content_filter` → incomplete (content_filter);
 * every other reason (stop, tool_calls, function_call, engine-specific ones) → completed.
 */
export function finishOutcome(reason: string | null | undefined): Outcome {
  if (reason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (reason === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** `msg_<seed>` for the first message item, `msg_<seed>_<k>` for later ones (streams only). */
export const messageItemId = (seed: string, k = 0): string => (k === 0 ? `msg_${seed}` : `msg_${seed}_${k}`);
/** `fc_<seed>_<n>` for the n-th tool call (0-based, in order of appearance). */
export const functionCallItemId = (seed: string, n: number): string => `fc_${seed}_${n}`;
/** A call id for a tool call the engine sent without one (the client must be able to answer it). */
export const fallbackCallId = (seed: string, n: number): string => `call_${seed}_${n}`;

export type ContentPart = { type: 'output_text'; text: string } | { type: 'refusal'; refusal: string };

export function outputMessage(id: string, parts: readonly ContentPart[], status: ItemStatus): ResponseOutputMessage {
  return {
    id,
    type: 'message',
    role: 'assistant',
    status,
    content: parts.map((p) => (p.type === 'output_text' ? outputTextPart(p.text) : { type: 'refusal', refusal: p.refusal })),
  };
}

export function outputTextPart(text: string): { type: 'output_text'; text: string; annotations: []; logprobs: [] } {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export interface FunctionCallFields {
  id: string;
  callId: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}

export function functionCallItem(f: FunctionCallFields): ResponseFunctionToolCall {
  return { id: f.id, type: 'function_call', call_id: f.callId, name: f.name, arguments: f.arguments, status: f.status };
}

/** The SDK's `output_text`: every output_text part of every message item, concatenated. */
export function outputText(output: readonly ResponseOutputItem[]): string {
  let text = '';
  for (const item of output) {
    if (item.type !== 'message') continue;
    for (const part of item.content) if (part.type === 'output_text') text += part.text;
  }
  return text;
}
