import type { ChatCompletion, ChatCompletionMessageFunctionToolCall } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { Answer, Json, MintId } from './answer.ts';
import { SYSTEM_FINGERPRINT, chatStreamChunks, type ChatReply } from './chat-stream.ts';
import { chatPrompt, estimateTokens, limitText, replyText } from './reply.ts';
import { chatSettingsSchema, chatTools, isAnswer, parseBody } from './request-schemas.ts';
import { planToolCalls, toolCallTokens } from './tool-calls.ts';

/** `POST /v1/chat/completions`. `body.model` has been checked to be a string. */
export function chatCompletions(body: Json, model: string, mintId: MintId, nowSeconds: number): Answer {
  const settings = parseBody(chatSettingsSchema, body);
  if (isAnswer(settings)) return settings;
  const tools = chatTools(settings.tools, settings.tool_choice);
  if (isAnswer(tools)) return tools;

  const prompt = chatPrompt(settings.messages);
  const calls = planToolCalls({
    tools: tools.names,
    choice: tools.choice,
    parallel: settings.parallel_tool_calls ?? true,
    maxCalls: null,
    text: prompt.lastUserText,
    afterToolResult: prompt.toolResult !== undefined,
  });

  let reply: ChatReply;
  let completionTokens: number;
  if (calls.length > 0) {
    const toolCalls: ChatCompletionMessageFunctionToolCall[] = calls.map((call) => ({
      id: mintId('call_'),
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
    reply = { content: null, toolCalls, finish: 'tool_calls' };
    completionTokens = toolCallTokens(calls);
  } else {
    const limited = limitText(replyText(prompt), settings.max_completion_tokens ?? settings.max_tokens);
    reply = { content: limited.text, toolCalls: [], finish: limited.cut ? 'length' : 'stop' };
    completionTokens = limited.tokens;
  }

  const promptTokens = estimateTokens(prompt.chars);
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

  if (settings.stream === true) {
    const includeUsage = settings.stream_options?.include_usage === true;
    const head = { id, created: nowSeconds, model };
    return { kind: 'sse', chunks: chatStreamChunks(head, reply, includeUsage ? usage : undefined) };
  }
  const completion: ChatCompletion = {
    id,
    object: 'chat.completion',
    created: nowSeconds,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content,
          refusal: null,
          annotations: [],
          ...(reply.toolCalls.length > 0 ? { tool_calls: reply.toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: reply.finish,
      },
    ],
    usage,
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
  return { kind: 'json', status: 200, body: completion };
}
