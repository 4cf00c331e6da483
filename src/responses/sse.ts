// Server-sent events as they arrive: split into events, incrementally and in linear time,
// holding at most one bounded event. Pure: no I/O.

export interface SseEvent {
  /** The event's text as received, including the blank line that ended it. */
  raw: string;
  /** The `data:` lines joined with `\n`; undefined when the event had none. */
  data: string | undefined;
}

// Events end at a blank line; the spec allows \n, \r\n and \r line ends.
const EVENT_END = /\r\n\r\n|\n\n|\r\r/g;
/** The longest event end, less one: how far back a new chunk's scan starts. */
const END_OVERLAP = 3;

/**
 * Text of one event kept at most while waiting for its end (DESIGN 13: memory is bounded
 * everywhere). An event longer than this is handed on in pieces, as raw text with no data:
 * it passes through to the client unchanged, but is neither rewritten nor captured.
 */
export const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/**
 * Splits SSE bytes into events incrementally; an event split across chunks waits for its
 * end. Each chunk is scanned once: the search resumes where the last one stopped (less the
 * length of a separator that may straddle the two), so a long event arriving in many small
 * chunks costs linear time, not quadratic.
 */
export class SseSplitter {
  #decoder = new TextDecoder('utf-8');
  #buffer = '';
  /** Where the next scan for an event end starts: everything before it has none. */
  #scanFrom = 0;
  readonly #maxEventChars: number;

  constructor(opts: { maxEventChars?: number } = {}) {
    this.#maxEventChars = opts.maxEventChars ?? MAX_EVENT_CHARS;
  }

  /** The events completed by `chunk`. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.#buffer += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    let start = 0;
    EVENT_END.lastIndex = Math.max(0, this.#scanFrom - END_OVERLAP);
    for (let m = EVENT_END.exec(this.#buffer); m !== null; m = EVENT_END.exec(this.#buffer)) {
      const end = m.index + m[0].length;
      events.push(toEvent(this.#buffer.slice(start, end)));
      start = end;
    }
    if (start > 0) this.#buffer = this.#buffer.slice(start);
    if (this.#buffer.length > this.#maxEventChars) {
      // Hand the oversized event on as it is, keeping only what could start its end.
      const keep = this.#buffer.slice(-END_OVERLAP);
      events.push({ raw: this.#buffer.slice(0, -END_OVERLAP), data: undefined });
      this.#buffer = keep;
    }
    this.#scanFrom = this.#buffer.length;
    return events;
  }

  /** Whatever is left when the stream ends: an unterminated last event, if any. */
  end(): SseEvent[] {
    this.#buffer += this.#decoder.decode();
    const rest = this.#buffer;
    this.#buffer = '';
    this.#scanFrom = 0;
    return rest === '' ? [] : [toEvent(rest)];
  }
}

export function toEvent(raw: string): SseEvent {
  let data: string | undefined;
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return { raw, data };
}

