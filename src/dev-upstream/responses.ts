import type {
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import type { Answer, Json, MintId } from './answer.ts';
import { estimateTokens, limitText, replyText, responsesPrompt } from './reply.ts';
import { isAnswer, parseBody, responsesSettingsSchema, responsesTools } from './request-schemas.ts';
import { echoSettings, responseObject, type ResponseState } from './response-object.ts';
import { responseStreamChunks } from './responses-stream.ts';
import { planToolCalls, toolCallTokens, type ToolCallPlan } from './tool-calls.ts';

/** `POST /v1/responses`. `body.model` has been checked to be a string. */
export function createResponse(body: Json, model: string, mintId: MintId, nowSeconds: number): Answer {
  const settings = parseBody(responsesSettingsSchema, body);
  if (isAnswer(settings)) return settings;
  const tools = responsesTools(settings.tools, settings.tool_choice);
  if (isAnswer(tools)) return tools;

  const prompt = responsesPrompt(settings.input, settings.instructions);
  const calls = planToolCalls({
    tools: tools.names,
    choice: tools.choice,
    parallel: settings.parallel_tool_calls ?? true,
    maxCalls: settings.max_tool_calls ?? null,
    text: prompt.lastUserText,
    afterToolResult: prompt.toolResult !== undefined,
  });
  const id = mintId('resp_');
  const inputTokens = estimateTokens(prompt.chars);

  let state: ResponseState;
  if (calls.length > 0) {
    const output = calls.map((call) => functionCallItem(call, mintId));
    state = done(output, usage(inputTokens, toolCallTokens(calls)), nowSeconds, false);
  } else {
    const reply = limitText(replyText(prompt), settings.max_output_tokens);
    const message: ResponseOutputMessage = {
      id: mintId('msg_'),
      type: 'message',
      status: reply.cut ? 'incomplete' : 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: reply.text, annotations: [], logprobs: [] }],
    };
    state = done([message], usage(inputTokens, reply.tokens), nowSeconds, reply.cut);
  }

  const echoed = echoSettings(settings, tools);
  const final = responseObject(id, model, nowSeconds, echoed, state);
  if (settings.stream !== true) return { kind: 'json', status: 200, body: final };

  const inProgress = responseObject(id, model, nowSeconds, echoed, {
    status: 'in_progress',
    completed_at: null,
    incomplete_details: null,
    output: [],
    usage: null,
  });
  return { kind: 'sse', chunks: responseStreamChunks(inProgress, final) };
}

function done(output: ResponseOutputItem[], usage: ResponseUsage, nowSeconds: number, cut: boolean): ResponseState {
  return cut
    ? { status: 'incomplete', completed_at: null, incomplete_details: { reason: 'max_output_tokens' }, output, usage }
    : { status: 'completed', completed_at: nowSeconds, incomplete_details: null, output, usage };
}

function functionCallItem(call: ToolCallPlan, mintId: MintId): ResponseFunctionToolCall {
  return {
    id: mintId('fc_'),
    type: 'function_call',
    status: 'completed',
    call_id: mintId('call_'),
    name: call.name,
    arguments: call.arguments,
  };
}

function usage(inputTokens: number, outputTokens: number): ResponseUsage {
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
}
