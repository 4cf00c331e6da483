/**
 * Per-request test controls of the development upstream, read from request headers and,
 * for callers that forward only the body, from the model name. Pure: no I/O.
 *
 * Precedence for each control: request header, then model name, then the server default.
 * Values that do not parse (or fall outside the allowed range) are ignored, so a typo
 * falls back to the default instead of failing the request.
 */

/** Longest delay a control may ask for: ten minutes. */
export const MAX_CONTROL_DELAY_MS = 600_000;

export interface DevControls {
  /** Delay before answering (before the first chunk of a stream). */
  latencyMs: number;
  /** Delay between stream chunks. */
  chunkDelayMs: number;
  /** When set, the request is answered with this status and an OpenAI error envelope. */
  status: number | undefined;
}

export interface ControlHeaders {
  latencyMs?: string | string[] | undefined;
  chunkDelayMs?: string | string[] | undefined;
  status?: string | string[] | undefined;
}

const MODEL_STATUS = /(?:^|[-_.:/])dev-status-(\d{3})(?![0-9])/;
const MODEL_SLOW = /(?:^|[-_.:/])dev-slow-(\d{1,6})(?![0-9])/;
const MODEL_CHUNK = /(?:^|[-_.:/])dev-chunk-(\d{1,6})(?![0-9])/;

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseDelay(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n <= MAX_CONTROL_DELAY_MS ? n : undefined;
}

function parseStatus(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n >= 400 && n <= 599 ? n : undefined;
}

/**
 * Resolves the controls for one request.
 *
 * Model names: `dev-status-<code>` answers `<code>` (400–599), `dev-slow-<ms>` waits `<ms>`
 * before answering, `dev-chunk-<ms>` waits `<ms>` between stream chunks. They may be
 * combined and may follow a prefix (`gpt-4o-dev-slow-200`, `dev-slow-100-dev-status-503`).
 */
export function resolveControls(
  headers: ControlHeaders,
  model: string | undefined,
  defaults: { latencyMs: number; chunkDelayMs: number },
): DevControls {
  const fromModel = (re: RegExp): string | undefined => (model === undefined ? undefined : re.exec(model)?.[1]);
  return {
    latencyMs: parseDelay(firstValue(headers.latencyMs)) ?? parseDelay(fromModel(MODEL_SLOW)) ?? defaults.latencyMs,
    chunkDelayMs:
      parseDelay(firstValue(headers.chunkDelayMs)) ?? parseDelay(fromModel(MODEL_CHUNK)) ?? defaults.chunkDelayMs,
    status: parseStatus(firstValue(headers.status)) ?? parseStatus(fromModel(MODEL_STATUS)),
  };
}
