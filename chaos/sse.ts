// The load client's reading of a streamed answer: SSE events split from the bytes as they
// arrive, and the text a client ends up with (chat deltas, or a Responses stream's final
// snapshot). Pure: no I/O.
import { answerText, isRecord, parseLenientJson } from './text.ts';

const EVENT_END = /\r\n\r\n|\n\n|\r\r/g;

/** Splits SSE text into the `data` payloads of complete events. */
export class SseReader {
  #buffer = '';

  push(text: string): string[] {
    this.#buffer += text;
    const out: string[] = [];
    let start = 0;
    EVENT_END.lastIndex = 0;
    for (let m = EVENT_END.exec(this.#buffer); m !== null; m = EVENT_END.exec(this.#buffer)) {
      const data = eventData(this.#buffer.slice(start, m.index));
      if (data !== undefined) out.push(data);
      start = m.index + m[0].length;
    }
    if (start > 0) this.#buffer = this.#buffer.slice(start);
    return out;
  }
}

function eventData(raw: string): string | undefined {
  let data: string | undefined;
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}

export interface StreamOutcome {
  /** Chat: the deltas joined. Responses: the final snapshot's text, else the deltas joined. */
  text: string;
  /** Chat: `[DONE]` seen. Responses: `response.completed` seen. */
  complete: boolean;
  /** Responses: the `response.id` of the stream's snapshots (volley's id). */
  bodyId?: string;
}

export interface StreamAccumulator {
  data(payload: string): void;
  result(): StreamOutcome;
}

/** Accumulates a chat or Responses stream's `data` payloads into what the client got. */
export function streamAccumulator(kind: 'chat' | 'responses'): StreamAccumulator {
  let deltas = '';
  let finalText: string | undefined;
  let complete = false;
  let bodyId: string | undefined;
  return {
    data(payload) {
      if (payload === '[DONE]') {
        if (kind === 'chat') complete = true;
        return;
      }
      const event = parseLenientJson(payload);
      if (!isRecord(event)) return;
      if (kind === 'chat') {
        const choices = event['choices'];
        const first: unknown = Array.isArray(choices) ? choices[0] : undefined;
        const delta = isRecord(first) ? first['delta'] : undefined;
        if (isRecord(delta) && typeof delta['content'] === 'string') deltas += delta['content'];
        return;
      }
      const type = event['type'];
      if (type === 'response.output_text.delta' && typeof event['delta'] === 'string') deltas += event['delta'];
      const response = event['response'];
      if (isRecord(response)) {
        if (typeof response['id'] === 'string') bodyId = response['id'];
        if (type === 'response.completed') {
          complete = true;
          finalText = answerText(response);
        }
      }
    },
    result() {
      return { text: finalText ?? deltas, complete, ...(bodyId !== undefined ? { bodyId } : {}) };
    },
  };
}
