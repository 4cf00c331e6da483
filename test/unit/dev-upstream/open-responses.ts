/**
 * The required fields of the Open Responses `ResponseResource` and the schemas it references
 * (openresponses/openresponses, public/openapi/openapi.json, version 2026-04-24), as zod
 * schemas, so tests can check that every Responses object the development upstream sends is
 * complete. Only what the specification requires is checked; extra fields are allowed.
 */
import { z } from 'zod';

const itemStatus = z.enum(['in_progress', 'completed', 'incomplete']);

const outputText = z.object({
  type: z.literal('output_text'),
  text: z.string(),
  annotations: z.array(z.unknown()),
});

const message = z.object({
  type: z.literal('message'),
  id: z.string(),
  status: itemStatus,
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.array(outputText),
});

const functionCall = z.object({
  type: z.literal('function_call'),
  id: z.string(),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string(),
  status: itemStatus,
});

export const outputItemSchema = z.discriminatedUnion('type', [message, functionCall]);

const functionTool = z.object({
  type: z.literal('function'),
  name: z.string(),
  description: z.string().nullable(),
  parameters: z.record(z.string(), z.unknown()).nullable(),
  strict: z.boolean().nullable(),
});

const choiceMode = z.enum(['none', 'auto', 'required']);
const functionToolChoice = z.object({ type: z.literal('function'), name: z.string().optional() });

const toolChoice = z.union([
  choiceMode,
  functionToolChoice,
  z.object({ type: z.literal('allowed_tools'), tools: z.array(functionToolChoice), mode: choiceMode }),
]);

const textField = z.object({
  format: z.union([
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      name: z.string(),
      description: z.string().nullable(),
      // The specification types `schema` as null, an artefact of its generator; any value passes.
      schema: z.unknown(),
      strict: z.boolean(),
    }),
  ]),
  verbosity: z.enum(['low', 'medium', 'high']).optional(),
});

const reasoning = z.object({
  effort: z.enum(['none', 'low', 'medium', 'high', 'xhigh']).nullable(),
  summary: z.enum(['concise', 'detailed', 'auto']).nullable(),
});

const usage = z.object({
  input_tokens: z.int(),
  output_tokens: z.int(),
  total_tokens: z.int(),
  input_tokens_details: z.object({ cached_tokens: z.int() }),
  output_tokens_details: z.object({ reasoning_tokens: z.int() }),
});

/** ResponseResource: every property listed in its `required`. */
export const responseResourceSchema = z.object({
  id: z.string(),
  object: z.literal('response'),
  created_at: z.int(),
  completed_at: z.int().nullable(),
  status: z.string(),
  incomplete_details: z.object({ reason: z.string() }).nullable(),
  model: z.string(),
  previous_response_id: z.string().nullable(),
  instructions: z.string().nullable(),
  output: z.array(outputItemSchema),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  tools: z.array(functionTool),
  tool_choice: toolChoice,
  truncation: z.enum(['auto', 'disabled']),
  parallel_tool_calls: z.boolean(),
  text: textField,
  top_p: z.number(),
  presence_penalty: z.number(),
  frequency_penalty: z.number(),
  top_logprobs: z.int(),
  temperature: z.number(),
  reasoning: reasoning.nullable(),
  usage: usage.nullable(),
  max_output_tokens: z.int().nullable(),
  max_tool_calls: z.int().nullable(),
  store: z.boolean(),
  background: z.boolean(),
  service_tier: z.string(),
  // Required but untyped in the specification: present, any value.
  metadata: z.unknown().refine((value) => value !== undefined, 'metadata is required'),
  safety_identifier: z.string().nullable(),
  prompt_cache_key: z.string().nullable(),
});

/** The issues of `value` against ResponseResource, as readable lines (empty when complete). */
export function responseResourceIssues(value: unknown): string[] {
  const parsed = responseResourceSchema.safeParse(value);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}
