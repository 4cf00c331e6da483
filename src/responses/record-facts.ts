// What a record says for analytics beyond its bodies (DESIGN 12): token kinds, the finish
// reason, the tier and model the upstream reports, the request's metadata and end user, and
// the text `q` searches. Read from the stored bodies by whoever writes the terminal record
// (the worker, the request processor), so the gateway's hot path parses nothing more; with
// store: false the gateway reads them itself before the bodies are dropped. Pure: no I/O.
import { isRecord, parseJson } from './json.ts';
import { storableCount, storableText } from './storable.ts';
import { decodeResponseBody } from './stored-body.ts';
import { extractUsage, type Usage } from './usage.ts';

export interface AnswerFacts extends Usage {
  cachedTokens: number | null;
  reasoningTokens: number | null;
  /** In chat's words: stop, length, tool_calls, content_filter (or what the upstream said). */
  finishReason: string | null;
  servedServiceTier: string | null;
  upstreamModel: string | null;
}

export interface RequestFacts {
  metadata: Record<string, string> | null;
  endUser: string | null;
}

export type RecordFacts = AnswerFacts & RequestFacts;

/** The Responses API's limits on `metadata`, applied to the header too (DESIGN 12). */
export const METADATA_LIMITS = Object.freeze({ keys: 16, keyLength: 64, valueLength: 512 });

const NO_ANSWER: AnswerFacts = {
  promptTokens: null,
  completionTokens: null,
  totalTokens: null,
  cachedTokens: null,
  reasoningTokens: null,
  finishReason: null,
  servedServiceTier: null,
  upstreamModel: null,
};

const shortText = (v: unknown, max = 256): string | null =>
  typeof v === 'string' && v !== '' ? storableText(v.slice(0, max)) : null;

/** Facts of an answer (a chat completion, a Responses object, an embeddings list; stored JSON or SSE). */
export function answerFacts(responseBody: string): AnswerFacts {
  const body = decodeResponseBody(responseBody);
  if (!isRecord(body)) return NO_ANSWER;
  const usage = extractUsage(responseBody) ?? { promptTokens: null, completionTokens: null, totalTokens: null };
  const u = isRecord(body.usage) ? body.usage : {};
  const inDetails = isRecord(u.input_tokens_details) ? u.input_tokens_details : isRecord(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const outDetails = isRecord(u.output_tokens_details)
    ? u.output_tokens_details
    : isRecord(u.completion_tokens_details)
      ? u.completion_tokens_details
      : {};
  return {
    ...usage,
    cachedTokens: storableCount(inDetails.cached_tokens),
    reasoningTokens: storableCount(outDetails.reasoning_tokens),
    finishReason: finishReason(body),
    servedServiceTier: shortText(body.service_tier, 32),
    upstreamModel: shortText(body.model),
  };
}

function finishReason(body: Record<string, unknown>): string | null {
  if (Array.isArray(body.choices)) {
    const first = body.choices[0];
    return isRecord(first) ? shortText(first.finish_reason, 64) : null;
  }
  if (body.object !== 'response' && !Array.isArray(body.output)) return null;
  if (body.status === 'incomplete') {
    const reason = isRecord(body.incomplete_details) ? body.incomplete_details.reason : undefined;
    return reason === 'max_output_tokens' ? 'length' : (shortText(reason, 64) ?? 'length');
  }
  if (body.status !== 'completed' && body.status !== undefined) return null;
  const output = Array.isArray(body.output) ? body.output : [];
  return output.some((o) => isRecord(o) && o.type === 'function_call') ? 'tool_calls' : 'stop';
}

/** `metadata` kept within the limits: string values only, at most 16 keys; else null. */
export function boundedMetadata(value: unknown): Record<string, string> | null {
  if (!isRecord(value)) return null;
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(value)) {
    if (n === METADATA_LIMITS.keys) break;
    if (typeof v !== 'string' || k.length === 0 || k.length > METADATA_LIMITS.keyLength || v.length > METADATA_LIMITS.valueLength) continue;
    out[storableText(k)] = storableText(v);
    n++;
  }
  return n === 0 ? null : out;
}

/**
 * Why a metadata map breaks the limits, or undefined when it keeps them (for the header,
 * which is refused rather than trimmed: the caller set it for volley alone).
 */
export function metadataProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'must be a JSON object of strings';
  const entries = Object.entries(value);
  if (entries.length > METADATA_LIMITS.keys) return `has ${entries.length} keys; at most ${METADATA_LIMITS.keys} are allowed`;
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > METADATA_LIMITS.keyLength) return `key '${k.slice(0, 64)}…' must be 1 to ${METADATA_LIMITS.keyLength} characters`;
    if (typeof v !== 'string') return `value of '${k}' must be a string`;
    if (v.length > METADATA_LIMITS.valueLength) return `value of '${k}' is longer than ${METADATA_LIMITS.valueLength} characters`;
  }
  return undefined;
}

/** The request's metadata (the body's, then the header's over it) and end user. */
export function requestFacts(requestBody: string | unknown, headerMetadata?: Record<string, string> | null): RequestFacts {
  const body = typeof requestBody === 'string' ? parseJson(requestBody) : requestBody;
  const b = isRecord(body) ? body : {};
  const merged = { ...(boundedMetadata(b.metadata) ?? {}), ...(headerMetadata ?? {}) };
  return {
    metadata: boundedMetadata(merged),
    endUser: shortText(b.user) ?? shortText(b.safety_identifier),
  };
}

/** Characters of request and of answer text kept for search (each). */
export const SEARCH_TEXT_CHARS = 4_000;

/**
 * The words of a request and its answer, for `q`: message contents, instructions, tool
 * arguments and outputs, not the JSON around them (so `q=content` finds content, not every
 * row). A body that is not JSON is searched as it is.
 */
export function searchText(requestBody: string, responseBody: string | null): string | null {
  const parts = [textOf(parseJson(requestBody), requestBody), responseBody === null ? '' : textOf(decodeResponseBody(responseBody), responseBody)];
  const text = parts.filter((p) => p !== '').join('\n');
  return text === '' ? null : storableText(text);
}

function textOf(value: unknown, raw: string): string {
  if (value === undefined) return raw.slice(0, SEARCH_TEXT_CHARS);
  const out: string[] = [];
  let size = 0;
  const visit = (v: unknown, key: string | undefined, depth: number): void => {
    if (size >= SEARCH_TEXT_CHARS || depth > 12) return;
    if (typeof v === 'string') {
      if (key !== undefined && TEXT_KEYS.has(key)) {
        out.push(v);
        size += v.length + 1;
      }
      return;
    }
    if (Array.isArray(v)) for (const x of v) visit(x, key, depth + 1);
    else if (isRecord(v)) for (const [k, x] of Object.entries(v)) visit(x, k, depth + 1);
  };
  visit(value, undefined, 0);
  return out.join('\n').slice(0, SEARCH_TEXT_CHARS);
}

/** The keys whose string values are words people search for. */
const TEXT_KEYS = new Set(['content', 'text', 'input', 'instructions', 'arguments', 'output', 'refusal', 'prompt', 'delta']);
