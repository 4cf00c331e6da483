/**
 * The typed SSE events of a streamed Responses answer, derived from its final object. Pure.
 */
import type {
  Response,
  ResponseFunctionToolCall,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import { splitArguments, splitPieces } from './reply.ts';
import type { ResponseBody } from './response-object.ts';

type StreamEvent = DistributiveOmit<ResponseStreamEvent, 'sequence_number'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The stream of a response, as chunks: the chunk delay is applied between chunks, and a
 * chunk boundary falls before every text or arguments delta but the first. Events carry
 * `sequence_number`s 0, 1, 2, … without gaps; the last is `response.completed`, or
 * `response.incomplete` when the final object is incomplete.
 */
export function responseStreamChunks(inProgress: ResponseBody, final: ResponseBody): string[] {
  const chunks: string[] = [];
  let current = '';
  let sequence = 0;
  let deltas = 0;
  const emit = (event: StreamEvent): void => {
    current += `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`;
  };
  const emitDelta = (event: StreamEvent): void => {
    if (deltas++ > 0) {
      chunks.push(current);
      current = '';
    }
    emit(event);
  };

  emit({ type: 'response.created', response: inProgress as Response });
  emit({ type: 'response.in_progress', response: inProgress as Response });
  final.output.forEach((item, outputIndex) => {
    if (item.type === 'message') emitMessage(item, outputIndex, emit, emitDelta);
    else if (item.type === 'function_call') emitFunctionCall(item, outputIndex, emit, emitDelta);
  });
  if (final.status === 'incomplete') emit({ type: 'response.incomplete', response: final as Response });
  else emit({ type: 'response.completed', response: final as Response });
  chunks.push(current);
  return chunks;
}

type Emit = (event: StreamEvent) => void;

function emitMessage(message: ResponseOutputMessage, outputIndex: number, emit: Emit, emitDelta: Emit): void {
  emit({
    type: 'response.output_item.added',
    output_index: outputIndex,
    item: { ...message, status: 'in_progress', content: [] },
  });
  message.content.forEach((part, contentIndex) => {
    if (part.type !== 'output_text') return;
    const at = { item_id: message.id, output_index: outputIndex, content_index: contentIndex } as const;
    const empty: ResponseOutputText = { ...part, text: '' };
    emit({ type: 'response.content_part.added', ...at, part: empty });
    for (const delta of splitPieces(part.text)) {
      emitDelta({ type: 'response.output_text.delta', ...at, delta, logprobs: [] });
    }
    emit({ type: 'response.output_text.done', ...at, text: part.text, logprobs: [] });
    emit({ type: 'response.content_part.done', ...at, part });
  });
  emit({ type: 'response.output_item.done', output_index: outputIndex, item: message });
}

function emitFunctionCall(call: ResponseFunctionToolCall, outputIndex: number, emit: Emit, emitDelta: Emit): void {
  const itemId = call.id ?? '';
  emit({
    type: 'response.output_item.added',
    output_index: outputIndex,
    item: { ...call, status: 'in_progress', arguments: '' },
  });
  for (const delta of splitArguments(call.arguments)) {
    emitDelta({ type: 'response.function_call_arguments.delta', item_id: itemId, output_index: outputIndex, delta });
  }
  emit({
    type: 'response.function_call_arguments.done',
    item_id: itemId,
    output_index: outputIndex,
    name: call.name,
    arguments: call.arguments,
  });
  emit({ type: 'response.output_item.done', output_index: outputIndex, item: call });
}
