import type { ResponseStreamEvent } from 'openai/resources/responses/responses';

/** One Responses stream event as server-sent-events text: `event: <type>\ndata: <json>\n\n`. */
export function encodeSse(event: ResponseStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
