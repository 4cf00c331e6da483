/**
 * Deterministic fake embeddings: the same input always gives the same unit vector.
 * Pure: no I/O.
 */

export const DEFAULT_DIMENSIONS = 8;
export const MAX_DIMENSIONS = 4096;

/** FNV-1a over the UTF-16 code units of a string, or over the numbers of a token array. */
function hashInput(input: string | readonly number[]): number {
  let h = 0x811c9dc5;
  if (typeof input === 'string') {
    for (let i = 0; i < input.length; i++) h = Math.imul(h ^ input.charCodeAt(i), 0x01000193);
  } else {
    // Token arrays hash differently from the digits of the same numbers as text.
    h = Math.imul(h ^ 0x5a, 0x01000193);
    for (const token of input) h = Math.imul(h ^ (token | 0), 0x01000193);
  }
  return h >>> 0;
}

/**
 * A unit-length vector of `dimensions` float32 values derived from the input. Values are
 * already rounded to float32, so the float and base64 encodings carry identical numbers.
 */
export function embedVector(input: string | readonly number[], dimensions: number): Float32Array {
  // mulberry32, seeded by the input's hash.
  let state = hashInput(input);
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const value = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
    vector[i] = value;
    norm += value * value;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < dimensions; i++) vector[i] = (vector[i] ?? 0) * scale;
  return vector;
}

/** The API's base64 encoding: float32 little-endian bytes. */
export function toBase64(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] ?? 0, i * 4);
  return bytes.toString('base64');
}
