// Chat Completions `usage` → Responses `usage`.
import type { ResponseUsage } from 'openai/resources/responses/responses';
import { z } from 'zod';

// A count that is missing, negative or not an integer is read as absent, never as an error:
// usage is informational and engines differ in what they report.
const count = z.number().int().nonnegative().optional().catch(undefined);

const ChatUsage = z.object({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
  prompt_tokens_details: z.object({ cached_tokens: count, cache_write_tokens: count }).nullish().catch(undefined),
  completion_tokens_details: z.object({ reasoning_tokens: count }).nullish().catch(undefined),
});

/**
 * prompt → input, completion → output tokens; cached (and cache-write) prompt tokens and
 * reasoning tokens into the details, 0 when the engine does not report them; the total as
 * reported, else the sum. `null` when there is no usage object or it holds no count.
 */
export function toResponseUsage(usage: unknown): ResponseUsage | null {
  const parsed = ChatUsage.safeParse(usage);
  if (!parsed.success) return null;
  const u = parsed.data;
  if (u.prompt_tokens === undefined && u.completion_tokens === undefined && u.total_tokens === undefined) return null;
  const input = u.prompt_tokens ?? 0;
  const output = u.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0,
      cache_write_tokens: u.prompt_tokens_details?.cache_write_tokens ?? 0,
    },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: u.total_tokens ?? input + output,
  };
}
