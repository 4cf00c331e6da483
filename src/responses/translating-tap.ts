// A chat-only model's stream seen by a client of /v1/responses (DESIGN 10): the upstream's
// chat.completion.chunk events are translated as they arrive into Responses events, and the
// final Responses object is kept for the record. The same StreamTap shape as a pass-through
// capture, so the relay treats both alike. Pure: no I/O.
import { createChatStreamTranslator, encodeSse } from './chat/index.ts';
import { itemIdSeed, streamSnapshot } from './answers.ts';
import { parseJson } from './json.ts';
import { SseSplitter } from './sse.ts';
import type { StreamTap } from './stream-capture.ts';

export function createTranslatingTap(opts: { request: unknown; responseId: string; nowSeconds: number }): StreamTap {
  const splitter = new SseSplitter();
  const snapshot = streamSnapshot(opts.request, opts.responseId, opts.nowSeconds);
  const translator = createChatStreamTranslator({ responseId: opts.responseId, itemIdSeed: itemIdSeed(opts.responseId), snapshot });
  let done = false;
  let ended = false;
  const translate = (chunk: Uint8Array | string, last: boolean): string => {
    let out = '';
    for (const event of last ? [...splitter.push(chunk), ...splitter.end()] : splitter.push(chunk)) {
      const data = event.data?.trim();
      if (data === undefined || data === '') continue;
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      const value = parseJson(data);
      if (value !== undefined) for (const e of translator.push(value)) out += encodeSse(e);
    }
    return out;
  };
  return {
    push: (chunk) => translate(chunk, false),
    end() {
      const rest = translate('', true);
      ended = true;
      let out = rest;
      for (const e of translator.end({ done })) out += encodeSse(e);
      return out;
    },
    body() {
      const result = translator.final();
      return JSON.stringify(snapshot({ ...result, status: ended ? result.status : 'failed' }));
    },
  };
}
