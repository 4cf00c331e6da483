// Translation between the Responses API and Chat Completions, for models whose upstream
// speaks only chat (DESIGN 10). Everything here is pure: no I/O, and no throw for any input.
export { toChatRequest, type ChatRequest, type ChatRequestOptions } from './request.ts';
export { inputToMessages, DROPPED_ITEM_TYPES, type InputOptions, type Messages } from './input.ts';
export { toChatTools, toChatToolChoice } from './tools.ts';
export type { Invalid } from './invalid.ts';
export { fromChatCompletion } from './completion.ts';
export { toResponseUsage } from './usage.ts';
export {
  finishOutcome,
  functionCallItemId,
  messageItemId,
  type IncompleteDetails,
  type TranslatedResponse,
  type TranslationContext,
} from './output.ts';
export {
  createChatStreamTranslator,
  type ChatStreamTranslator,
  type EndOptions,
  type StreamContext,
  type StreamResult,
  type StreamState,
  type StreamStatus,
} from './stream.ts';
export { encodeSse } from './sse.ts';
