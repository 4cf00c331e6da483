// The Open Responses `ResponseResource` as a zod schema, written from the specification
// (openresponses/openresponses, public/openapi/openapi.json, version 2026-04-24), for tests
// that check an object volley returns is complete. Where the specification is looser than
// its own descriptions, the descriptions (and the OpenAI SDK's `Response` type) decide; each
// such place says so.
import { z } from 'zod';

/** ResponseResource's `required` list, in the specification's order. */
export const RESPONSE_RESOURCE_REQUIRED = [
  'id',
  'object',
  'created_at',
  'completed_at',
  'status',
  'incomplete_details',
  'model',
  'previous_response_id',
  'instructions',
  'output',
  'error',
  'tools',
  'tool_choice',
  'truncation',
  'parallel_tool_calls',
  'text',
  'top_p',
  'presence_penalty',
  'frequency_penalty',
  'top_logprobs',
  'temperature',
  'reasoning',
  'usage',
  'max_output_tokens',
  'max_tool_calls',
  'store',
  'background',
  'service_tier',
  'metadata',
  'safety_identifier',
  'prompt_cache_key',
] as const;

const int = z.number().int();
const itemStatus = z.enum(['in_progress', 'completed', 'incomplete']);

const urlCitation = z.object({
  type: z.literal('url_citation'),
  url: z.string(),
  start_index: int,
  end_index: int,
  title: z.string(),
});
const topLogProb = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(int) });
const logProb = topLogProb.extend({ top_logprobs: z.array(topLogProb) });

const inputText = z.object({ type: z.literal('input_text'), text: z.string() });
const outputText = z.object({
  type: z.literal('output_text'),
  text: z.string(),
  annotations: z.array(urlCitation),
  logprobs: z.array(logProb).optional(),
});
const plainText = z.object({ type: z.literal('text'), text: z.string() });
const summaryText = z.object({ type: z.literal('summary_text'), text: z.string() });
const reasoningText = z.object({ type: z.literal('reasoning_text'), text: z.string() });
const refusal = z.object({ type: z.literal('refusal'), refusal: z.string() });
const inputImage = z.object({
  type: z.literal('input_image'),
  image_url: z.string().nullable(),
  detail: z.enum(['low', 'high', 'auto']),
});
const inputFile = z.object({ type: z.literal('input_file'), filename: z.string().optional(), file_url: z.string().optional() });
const inputVideo = z.object({ type: z.literal('input_video'), video_url: z.string() });

const reasoningPart = z.discriminatedUnion('type', [
  inputText,
  outputText,
  plainText,
  summaryText,
  reasoningText,
  refusal,
  inputImage,
  inputFile,
]);
const messagePart = z.discriminatedUnion('type', [...reasoningPart.options, inputVideo]);

const message = z.object({
  type: z.literal('message'),
  id: z.string(),
  status: itemStatus,
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.array(messagePart),
  phase: z.enum(['commentary', 'final_answer']).optional(),
});
const functionCall = z.object({
  type: z.literal('function_call'),
  id: z.string(),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string(),
  status: itemStatus,
});
const functionCallOutput = z.object({
  type: z.literal('function_call_output'),
  id: z.string(),
  call_id: z.string(),
  output: z.union([z.string(), z.array(z.discriminatedUnion('type', [inputText, inputImage, inputFile]))]),
  status: itemStatus,
});
const reasoningItem = z.object({
  type: z.literal('reasoning'),
  id: z.string(),
  summary: z.array(reasoningPart),
  content: z.array(reasoningPart).optional(),
  encrypted_content: z.string().optional(),
});
const compaction = z.object({
  type: z.literal('compaction'),
  id: z.string(),
  encrypted_content: z.string(),
  created_by: z.string().optional(),
});

// ItemField's members. An item of another type (hosted tool calls the specification does not
// list, vendor items) only needs a string `type`; an item of a listed type must match it.
const KNOWN_ITEMS: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ['message', message],
  ['function_call', functionCall],
  ['function_call_output', functionCallOutput],
  ['reasoning', reasoningItem],
  ['compaction', compaction],
]);

/** An object of a listed `type` must match that type's schema; another `type` passes as it is. */
function typedOrOther(known: ReadonlyMap<string, z.ZodType>) {
  return z.looseObject({ type: z.string() }).superRefine((value, ctx) => {
    const schema = known.get(value.type);
    if (schema === undefined) return;
    const parsed = schema.safeParse(value);
    if (parsed.success) return;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  });
}

const functionTool = z.object({
  type: z.literal('function'),
  name: z.string(),
  description: z.string().nullable(),
  parameters: z.record(z.string(), z.unknown()).nullable(),
  strict: z.boolean().nullable(),
});

const toolChoiceMode = z.enum(['none', 'auto', 'required']);
const functionToolChoice = z.object({ type: z.literal('function'), name: z.string().optional() });
const toolChoice = z.union([
  toolChoiceMode,
  typedOrOther(
    new Map<string, z.ZodType>([
      ['function', functionToolChoice],
      ['allowed_tools', z.object({ type: z.literal('allowed_tools'), tools: z.array(functionToolChoice), mode: toolChoiceMode })],
    ]),
  ),
]);

const textFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string(),
    description: z.string().nullable(),
    // The specification says `{"type": "null"}` here, a generator slip: the request's schema
    // is a JSON Schema object, and the response echoes it.
    schema: z.record(z.string(), z.unknown()).nullable(),
    strict: z.boolean(),
  }),
]);

const reasoning = z.object({
  // ReasoningEffortEnum plus `minimal`, which its own descriptions and the OpenAI SDK list.
  effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable(),
  summary: z.enum(['concise', 'detailed', 'auto']).nullable(),
});

const usage = z.object({
  input_tokens: int,
  output_tokens: int,
  total_tokens: int,
  input_tokens_details: z.object({ cached_tokens: int }),
  output_tokens_details: z.object({ reasoning_tokens: int }),
});

export const responseResourceSchema = z.looseObject({
  id: z.string(),
  object: z.literal('response'),
  created_at: int,
  completed_at: int.nullable(),
  // A plain string in the specification; these are the values its streaming events and the
  // OpenAI SDK's ResponseStatus name.
  status: z.enum(['queued', 'in_progress', 'completed', 'failed', 'incomplete', 'cancelled']),
  incomplete_details: z.object({ reason: z.string() }).nullable(),
  model: z.string(),
  previous_response_id: z.string().nullable(),
  instructions: z.string().nullable(),
  output: z.array(typedOrOther(KNOWN_ITEMS)),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  // `Tool` is FunctionTool alone in the specification; other tool types (hosted tools) pass as
  // they are, a function tool must be complete.
  tools: z.array(typedOrOther(new Map([['function', functionTool]]))),
  tool_choice: toolChoice,
  truncation: z.enum(['auto', 'disabled']),
  parallel_tool_calls: z.boolean(),
  text: z.object({ format: textFormat, verbosity: z.enum(['low', 'medium', 'high']).optional() }),
  top_p: z.number(),
  presence_penalty: z.number(),
  frequency_penalty: z.number(),
  top_logprobs: int,
  temperature: z.number(),
  reasoning: reasoning.nullable(),
  usage: usage.nullable(),
  max_output_tokens: int.nullable(),
  max_tool_calls: int.nullable(),
  store: z.boolean(),
  background: z.boolean(),
  service_tier: z.string(),
  // Untyped in ResponseResource; the request's MetadataParam is a map of strings.
  metadata: z.record(z.string(), z.string()),
  safety_identifier: z.string().nullable(),
  prompt_cache_key: z.string().nullable(),
});

/** Every way `value` is not a ResponseResource, one line each (`path: problem`); [] when it is one. */
export function responseResourceViolations(value: unknown): string[] {
  const problems: string[] = [];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const field of RESPONSE_RESOURCE_REQUIRED) if (!Object.hasOwn(value, field)) problems.push(`${field}: missing`);
  }
  const parsed = responseResourceSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = formatPath(issue.path);
      // A missing field is already listed, with a clearer message.
      if (issue.path.length === 1 && problems.includes(`${path}: missing`)) continue;
      problems.push(`${path || '(root)'}: ${issue.message}`);
    }
  }
  return problems;
}

/** Throws, listing every violation, unless `value` is a complete ResponseResource. */
export function expectResponseResource(value: unknown): void {
  const problems = responseResourceViolations(value);
  if (problems.length === 0) return;
  const id = typeof value === 'object' && value !== null && 'id' in value ? ` ${String(value.id)}` : '';
  throw new Error(`Not an Open Responses ResponseResource${id}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out === '' ? String(key) : `${out}.${String(key)}`),
    '',
  );
}
