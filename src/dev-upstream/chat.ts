import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { badRequest, isObject, type Answer, type Json, type MintId } from './answer.ts';
import { chatPrompt, estimateTokens, replyText, splitPieces } from './reply.ts';

const SYSTEM_FINGERPRINT = 'fp_volley_dev';

/** `POST /v1/chat/completions`. `body.model` has been checked to be a string. */
export function chatCompletions(body: Json, model: string, mintId: MintId, nowSeconds: number): Answer {
  const messages = body['messages'];
  if (!Array.isArray(messages)) return badRequest("'messages' is a required property and must be an array", 'messages');

  const prompt = chatPrompt(messages);
  const text = replyText(prompt);
  const promptTokens = estimateTokens(prompt.chars);
  const completionTokens = estimateTokens(text.length);
  const usage: CompletionUsage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  const id = mintId('chatcmpl-');

  if (body['stream'] !== true) {
    const completion: ChatCompletion = {
      id,
      object: 'chat.completion',
      created: nowSeconds,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
      service_tier: 'default',
      system_fingerprint: SYSTEM_FINGERPRINT,
    };
    return { kind: 'json', status: 200, body: completion };
  }

  const streamOptions = body['stream_options'];
  const includeUsage = isObject(streamOptions) && streamOptions['include_usage'] === true;
  const frame = (choices: ChatCompletionChunk.Choice[], chunkUsage?: CompletionUsage): string => {
    const chunk: ChatCompletionChunk = {
      id,
      object: 'chat.completion.chunk',
      created: nowSeconds,
      model,
      service_tier: 'default',
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices,
    };
    // With include_usage the API sends `usage: null` on every chunk but the last.
    if (includeUsage) chunk.usage = chunkUsage ?? null;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
  const delta = (d: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null) =>
    frame([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

  const pieces = splitPieces(text);
  const chunks: string[] = pieces.map((piece) => delta({ content: piece }));
  // The role arrives with the first piece, the finish reason, usage and [DONE] with the last.
  chunks[0] = delta({ role: 'assistant', content: '', refusal: null }) + chunks[0];
  let tail = delta({}, 'stop');
  if (includeUsage) tail += frame([], usage);
  chunks[chunks.length - 1] += tail + 'data: [DONE]\n\n';
  return { kind: 'sse', chunks };
}
