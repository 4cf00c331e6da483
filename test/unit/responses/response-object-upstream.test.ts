import { describe, expect, it } from 'vitest';
import { requestEcho } from '../../../src/responses/request-echo.ts';
import { completeResponseObject } from '../../../src/responses/resource.ts';
import { completed, createdAt, requestBody, respond, responsesBody, uuid } from './response-fixtures.ts';

describe('completed with a Responses API body: the upstream object, completed', () => {
  it('keeps an incomplete answer incomplete, with its incomplete_details', () => {
    const body = { ...responsesBody, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
    const object = respond(completed(JSON.stringify(body)));
    expect(object.status).toBe('incomplete');
    expect(object.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });

  it('takes created_at, completed_at and model from the stored body when it has them', () => {
    const body = { ...responsesBody, created_at: 1740830401, completed_at: 1740830403, model: 'gpt-test-2025-01-01' };
    expect(respond(completed(JSON.stringify(body)))).toMatchObject({
      created_at: 1740830401,
      completed_at: 1740830403,
      model: 'gpt-test-2025-01-01',
    });
  });

  it('reports a stored body whose own status is not final as completed, as the row is', () => {
    expect(respond(completed(JSON.stringify({ ...responsesBody, status: 'in_progress' }))).status).toBe('completed');
  });

  it('keeps a failed answer failed, with its error in the specification shape', () => {
    const body = { ...responsesBody, status: 'failed', output: [], error: { code: 500, message: 'model crashed' } };
    const object = respond(completed(JSON.stringify(body)));
    expect(object.status).toBe('failed');
    expect(object.error).toEqual({ code: 'server_error', message: 'model crashed', http_status: 500 });
  });

  it('keeps fields the upstream sent that the specification does not know', () => {
    const body = { ...responsesBody, conversation: { id: 'conv_1' }, x_engine: { version: '0.9' } };
    expect(respond(completed(JSON.stringify(body)))).toMatchObject({ conversation: { id: 'conv_1' }, x_engine: { version: '0.9' } });
  });

  it('fills what a self-hosted engine leaves out from the request, and keeps what it reports', () => {
    const body = JSON.stringify({ ...requestBody, instructions: 'Be brief.', top_p: 0.9 });
    const upstream = { output: responsesBody.output, temperature: 0.7, service_tier: 'default', background: false };
    expect(respond(completed(JSON.stringify(upstream), { body }))).toMatchObject({
      instructions: 'Be brief.',
      top_p: 0.9,
      temperature: 0.7,
      // volley ran it as a flex background request, whatever the upstream says.
      service_tier: 'flex',
      background: true,
    });
  });
});

describe('GET returns what the POST answer returned', () => {
  const upstream = {
    ...responsesBody,
    created_at: 1740830401,
    completed_at: 1740830403,
    output_text: 'Hello!',
    temperature: 1,
    tools: [],
  };

  it('builds the object from the stored body as the POST answer is built from the upstream object', () => {
    const post = completeResponseObject(upstream, requestEcho(requestBody), { id: `resp_${uuid}` });
    expect(respond(completed(JSON.stringify(upstream)))).toEqual(post);
  });

  it('returns the object the client received when the record holds it', () => {
    const partial = { output: responsesBody.output, usage: responsesBody.usage };
    const post = completeResponseObject(partial, requestEcho(requestBody), {
      id: `resp_${uuid}`,
    }, { created_at: 1740830400, completed_at: 1740830402 });
    expect(respond(completed(JSON.stringify(post)))).toEqual(post);
  });

  it('builds the same object from a captured stream as from its final response', () => {
    const sse = `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: upstream })}\n\n`;
    expect(respond(completed(sse))).toEqual(respond(completed(JSON.stringify(upstream))));
    expect(respond(completed(sse)).created_at).not.toBe(Math.floor(createdAt.getTime() / 1000));
  });
});
