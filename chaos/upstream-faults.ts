// What the chaos upstream does with one call: answer normally, answer a poisoned body, or
// fail in one of the ways model servers fail. Pure: no I/O.
import { createHash } from 'node:crypto';

/** Fractions (0–1) of calls that get each fault; absent = 0. */
export interface UpstreamFaults {
  /** 429 with `Retry-After: 1`. */
  http429?: number;
  /** 500 or 503 (half each). */
  http5xx?: number;
  /** No answer until the caller gives up. */
  hang?: number;
  /** Connection reset before the headers or in the middle of the body/stream (half each). */
  reset?: number;
  /** Of the nonces (not calls: every call for a poisoned nonce is poisoned): usage above int4. */
  poisonUsage?: number;
  /** Of the nonces: a NUL in the content, as the JSON escape or a literal byte (half each). */
  poisonNul?: number;
}

export const CALL_OUTCOMES = [
  'ok',
  'poison-usage',
  'poison-nul-escape',
  'poison-nul-byte',
  '429',
  '500',
  '503',
  'hang',
  'reset-headers',
  'reset-body',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** Above PostgreSQL's int4 (2^31 - 1): what an `integer` usage column cannot hold. */
export const POISON_TOKENS = 3_000_000_000;

/** True when the upstream gave a complete 2xx answer (a poisoned one included). */
export function answeredOk(outcome: CallOutcome): boolean {
  return outcome === 'ok' || outcome.startsWith('poison-');
}

/** True for the poisoned outcomes. */
export function isPoison(outcome: CallOutcome): boolean {
  return outcome.startsWith('poison-');
}

/** A stable number in [0, 1) for a nonce, so every call of a poisoned request is poisoned. */
function fraction(nonce: string, salt: string): number {
  return createHash('sha256').update(`${salt}:${nonce}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The outcome of one call. Poison is decided per nonce (a background request's retry gets
 * the same poisoned answer, as a model would repeat itself); the HTTP faults per call, with
 * `random` in [0, 1).
 */
export function pickOutcome(faults: UpstreamFaults, nonce: string | undefined, random: () => number): CallOutcome {
  if (nonce !== undefined) {
    if (fraction(nonce, 'usage') < (faults.poisonUsage ?? 0)) return 'poison-usage';
    if (fraction(nonce, 'nul') < (faults.poisonNul ?? 0)) {
      return fraction(nonce, 'nul-kind') < 0.5 ? 'poison-nul-escape' : 'poison-nul-byte';
    }
  }
  let r = random();
  const take = (p: number | undefined): boolean => {
    const hit = r < (p ?? 0);
    r -= p ?? 0;
    return hit;
  };
  if (take(faults.http429)) return '429';
  if (take(faults.http5xx)) return random() < 0.5 ? '500' : '503';
  if (take(faults.hang)) return 'hang';
  if (take(faults.reset)) return random() < 0.5 ? 'reset-headers' : 'reset-body';
  return 'ok';
}

/**
 * Poisons a serialized answer (a JSON body or SSE frames): every usage prompt/input token
 * count becomes POISON_TOKENS, or every occurrence of the nonce (in the echoed content)
 * gets a NUL after it, as `\u0000` inside the JSON string or as a raw 0x00 byte.
 */
export function poison(payload: string, outcome: CallOutcome, nonce: string | undefined): string {
  switch (outcome) {
    case 'poison-usage':
      return payload.replace(/"(prompt_tokens|input_tokens)":\d+/g, `"$1":${POISON_TOKENS}`);
    case 'poison-nul-escape':
      return nonce === undefined ? payload : payload.replaceAll(nonce, `${nonce}\\u0000`);
    case 'poison-nul-byte':
      return nonce === undefined ? payload : payload.replaceAll(nonce, `${nonce}\u0000`);
    default:
      return payload;
  }
}
