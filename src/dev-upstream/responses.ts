import type {
  Response,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { badRequest, type Answer, type Json, type MintId } from './answer.ts';
import { estimateTokens, replyText, responsesPrompt, splitPieces } from './reply.ts';

/** A response object as the API sends it; `output_text` is computed by the SDKs. */
type ResponseBody = Omit<Response, 'output_text'>;
type StreamEvent = DistributiveOmit<ResponseStreamEvent, 'sequence_number'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** `POST /v1/responses`. `body.model` has been checked to be a string. */
export function createResponse(body: Json, model: string, mintId: MintId, nowSeconds: number): Answer {
  const input = body['input'];
  if (input !== undefined && typeof input !== 'string' && !Array.isArray(input)) {
    return badRequest("'input' must be a string or an array of input items", 'input');
  }
  const instructions = body['instructions'];
  if (instructions !== undefined && instructions !== null && typeof instructions !== 'string') {
    return badRequest("'instructions' must be a string", 'instructions');
  }

  const prompt = responsesPrompt(input, instructions);
  const text = replyText(prompt);
  const inputTokens = estimateTokens(prompt.chars);
  const outputTokens = estimateTokens(text.length);
  const usage: ResponseUsage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
  const id = mintId('resp_');
  const messageId = mintId('msg_');
  const part: ResponseOutputText = { type: 'output_text', text, annotations: [], logprobs: [] };
  const message: ResponseOutputMessage = {
    id: messageId,
    type: 'message',
    status: 'completed',
    role: 'assistant',
    content: [part],
  };
  const completed = responseObject(body, id, model, nowSeconds, {
    status: 'completed',
    completed_at: nowSeconds,
    output: [message],
    usage,
  });

  if (body['stream'] !== true) return { kind: 'json', status: 200, body: completed };

  const inProgress = responseObject(body, id, model, nowSeconds, {
    status: 'in_progress',
    completed_at: null,
    output: [],
  });
  let sequence = 0;
  const frame = (event: StreamEvent): string =>
    `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`;
  const at = { item_id: messageId, output_index: 0, content_index: 0 } as const;

  let head = frame({ type: 'response.created', response: inProgress as Response });
  head += frame({ type: 'response.in_progress', response: inProgress as Response });
  head += frame({
    type: 'response.output_item.added',
    output_index: 0,
    item: { ...message, status: 'in_progress', content: [] },
  });
  head += frame({ type: 'response.content_part.added', ...at, part: { ...part, text: '' } });

  const chunks = splitPieces(text).map((delta) =>
    frame({ type: 'response.output_text.delta', ...at, delta, logprobs: [] }),
  );
  chunks[0] = head + chunks[0];
  let tail = frame({ type: 'response.output_text.done', ...at, text, logprobs: [] });
  tail += frame({ type: 'response.content_part.done', ...at, part });
  tail += frame({ type: 'response.output_item.done', output_index: 0, item: message });
  tail += frame({ type: 'response.completed', response: completed as Response });
  chunks[chunks.length - 1] += tail;
  return { kind: 'sse', chunks };
}

/** The response object, echoing the request's settings the way the API does. */
function responseObject(
  body: Json,
  id: string,
  model: string,
  createdAt: number,
  state: Pick<ResponseBody, 'status' | 'completed_at' | 'output'> & { usage?: ResponseUsage },
): ResponseBody {
  const echo = (key: string, fallback: unknown): unknown => body[key] ?? fallback;
  // The API sends `usage: null`, `user: null` and `store`, which the SDK's type lacks.
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: state.status,
    background: echo('background', false),
    completed_at: state.completed_at,
    error: null,
    incomplete_details: null,
    instructions: echo('instructions', null),
    max_output_tokens: echo('max_output_tokens', null),
    metadata: echo('metadata', {}),
    model,
    output: state.output,
    parallel_tool_calls: echo('parallel_tool_calls', true),
    previous_response_id: echo('previous_response_id', null),
    reasoning: echo('reasoning', { effort: null, summary: null }),
    service_tier: 'default',
    store: echo('store', true),
    temperature: echo('temperature', 1),
    text: echo('text', { format: { type: 'text' }, verbosity: 'medium' }),
    tool_choice: echo('tool_choice', 'auto'),
    tools: echo('tools', []),
    top_logprobs: echo('top_logprobs', 0),
    top_p: echo('top_p', 1),
    truncation: echo('truncation', 'disabled'),
    usage: state.usage ?? null,
    user: echo('user', null),
  } as unknown as ResponseBody;
}
