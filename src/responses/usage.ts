import { decodeResponseBody } from './stored-body.ts';
import { MAX_INT4, storableCount } from './storable.ts';

/** Token counts extracted from an upstream answer at completion time, for analytics. */
export interface Usage {
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
}

// Counts are clamped to what the int4 columns hold: one absurd answer must not fail the
// statement that records it with others.
const int = storableCount;

/**
 * Reads `usage` from a chat completion (prompt/completion tokens), a Responses object
 * (input/output tokens) or an embeddings list (prompt tokens), stored as JSON or as the
 * captured event stream. Anything else: no usage.
 */
export function extractUsage(responseBody: string): Usage | undefined {
  const parsed = decodeResponseBody(responseBody);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const usage = (parsed as { usage?: unknown }).usage;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const u = usage as Record<string, unknown>;
  const prompt = int(u.prompt_tokens) ?? int(u.input_tokens);
  const completion = int(u.completion_tokens) ?? int(u.output_tokens);
  const total = int(u.total_tokens) ?? (prompt !== null && completion !== null ? Math.min(prompt + completion, MAX_INT4) : null);
  if (prompt === null && completion === null && total === null) return undefined;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: total };
}
