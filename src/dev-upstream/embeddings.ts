import { badRequest, type Answer, type Json } from './answer.ts';
import { DEFAULT_DIMENSIONS, MAX_DIMENSIONS, embedVector, toBase64 } from './embedding.ts';
import { estimateTokens } from './reply.ts';

type EmbeddingInput = string | readonly number[];

function isTokenArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((t) => Number.isInteger(t));
}

/** The inputs of an embeddings request: a string, strings, a token array or token arrays. */
function parseInputs(input: unknown): EmbeddingInput[] | undefined {
  if (typeof input === 'string') return [input];
  if (isTokenArray(input)) return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((i) => typeof i === 'string')) return input;
  if (input.every(isTokenArray)) return input;
  return undefined;
}

/** `POST /v1/embeddings`. `body.model` has been checked to be a string. */
export function createEmbeddings(body: Json, model: string): Answer {
  const inputs = parseInputs(body['input']);
  if (inputs === undefined) {
    return badRequest(
      "'input' must be a string, an array of strings, an array of tokens or an array of token arrays",
      'input',
    );
  }
  const format = body['encoding_format'] ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return badRequest("'encoding_format' must be 'float' or 'base64'", 'encoding_format');
  }
  const dimensions = body['dimensions'] ?? DEFAULT_DIMENSIONS;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    return badRequest(`'dimensions' must be an integer from 1 to ${MAX_DIMENSIONS}`, 'dimensions');
  }

  let promptTokens = 0;
  const data = inputs.map((input, index) => {
    promptTokens += typeof input === 'string' ? estimateTokens(input.length) : input.length;
    const vector = embedVector(input, dimensions);
    return {
      object: 'embedding' as const,
      index,
      embedding: format === 'base64' ? toBase64(vector) : Array.from(vector),
    };
  });
  return {
    kind: 'json',
    status: 200,
    body: { object: 'list', data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } },
  };
}
