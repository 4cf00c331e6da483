// Rows and upstream bodies shared by the response-object tests.
import { newRequestDetail, toResponseObject, type ResponseDetail } from '../../../src/responses/response-object.ts';
import type { ResponseResource } from '../../../src/responses/resource.ts';
import { expectResponseResource } from '../../helpers/open-responses-schema.ts';

export const uuid = '0191f3a4-6b2c-7d3e-8f40-123456789abc';
export const hex = '0191f3a46b2c7d3e8f40123456789abc';
export const createdAt = new Date('2025-03-01T12:00:00.750Z'); // 1740830400.75
export const finishedAt = new Date('2025-03-01T12:00:05.999Z'); // 1740830405.999

export const requestBody = { model: 'gpt-test', input: 'hi', background: true, service_tier: 'flex' };

export function detail(overrides: Partial<ResponseDetail> = {}): ResponseDetail {
  return {
    ...newRequestDetail({
      id: uuid,
      model: 'gpt-test',
      serviceTier: 'flex',
      background: true,
      body: JSON.stringify(requestBody),
      createdAt,
    }),
    ...overrides,
  };
}

export function completed(responseBody: string, overrides: Partial<ResponseDetail> = {}): ResponseDetail {
  return detail({ state: 'completed', completedAt: finishedAt, responseStatus: 200, responseBody, ...overrides });
}

/** `toResponseObject`, checked to be a complete ResponseResource whatever the row. */
export function respond(row: ResponseDetail): ResponseResource {
  const object = toResponseObject(row);
  expectResponseResource(object);
  return object;
}

export const responsesBody = {
  id: 'resp_upstream',
  object: 'response',
  status: 'completed',
  model: 'gpt-test',
  output: [
    {
      type: 'message',
      id: 'msg_upstream',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hello!', annotations: [] }],
    },
  ],
  usage: {
    input_tokens: 5,
    input_tokens_details: { cached_tokens: 1 },
    output_tokens: 2,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 7,
  },
};

export const chatBody = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1740830401,
  model: 'gpt-test',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
};
