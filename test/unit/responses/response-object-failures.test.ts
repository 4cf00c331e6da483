import { describe, expect, it } from 'vitest';
import { nonRetriableHttpStatus, serializeFailureReason } from '../../../src/responses/failure-reason.ts';
import { completed, detail, finishedAt, respond } from './response-fixtures.ts';

// The specification's Error has a string `code`: an upstream HTTP status becomes the string
// code for it, and moves to `http_status`; the OpenAI error `type` stays beside them.
describe('upstream error statuses', () => {
  it('reports a legacy completed row with status >= 400 as failed, with the envelope message', () => {
    const body = JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } });
    const object = respond(completed(body, { responseStatus: 429 }));
    expect(object.status).toBe('failed');
    expect(object.error).toEqual({
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      message: 'Rate limit reached',
      http_status: 429,
    });
    expect(object.output).toEqual([]);
    expect(object.completed_at).toBe(1740830405);
  });

  it('reports a legacy completed row with a non-envelope body using the raw body', () => {
    const object = respond(completed('Bad Gateway', { responseStatus: 502 }));
    expect(object.status).toBe('failed');
    expect(object.error).toEqual({ type: 'server_error', code: 'server_error', message: 'Bad Gateway', http_status: 502 });
  });

  it('reports a failed row from its FailureReason error column', () => {
    const body = JSON.stringify({ error: { message: "Invalid value for 'temperature'", type: 'invalid_request_error' } });
    const object = respond(
      detail({
        state: 'failed',
        failedAt: finishedAt,
        responseStatus: 400,
        responseBody: body,
        error: serializeFailureReason(nonRetriableHttpStatus(400, body)),
      }),
    );
    expect(object.status).toBe('failed');
    expect(object.error).toEqual({
      type: 'invalid_request_error',
      code: 'invalid_request_error',
      message: "Invalid value for 'temperature'",
      http_status: 400,
    });
  });

  it('reports a failed row with no error column from its response status and raw body', () => {
    const object = respond(
      detail({ state: 'failed', failedAt: finishedAt, responseStatus: 403, responseBody: 'forbidden', error: null }),
    );
    expect(object.error).toEqual({ type: 'permission_error', code: 'permission_error', message: 'forbidden', http_status: 403 });
  });

  it('reports a failed row with no recorded reason as a generic server_error', () => {
    const object = respond(detail({ state: 'failed', failedAt: finishedAt }));
    expect(object.error).toEqual({
      type: 'server_error',
      code: 'server_error',
      message: 'The request failed without a recorded reason',
    });
  });

  it.each([
    ['FailureReason JSON', '{"type":"NonRetriableHttpStatus","details":{"status":404,"body":"gone"}}', { type: 'not_found_error', code: 'not_found_error', message: 'gone', http_status: 404 }],
    ['legacy text', 'Upstream returned 401: unauthorized', { type: 'authentication_error', code: 'authentication_error', message: 'unauthorized', http_status: 401 }],
    ['OpenAI envelope', '{"error":{"message":"no credits","type":"insufficient_credits","code":402}}', { type: 'insufficient_credits', code: 'insufficient_credits', message: 'no credits', http_status: 402 }],
    ['plain text', 'worker crashed', { type: 'server_error', code: 'server_error', message: 'worker crashed' }],
    ['TrackingLost', '{"type":"TrackingLost"}', expect.objectContaining({ type: 'server_error', code: 'tracking_lost' })],
  ])('parses a failed row whose error column is %s', (_name, error, expected) => {
    const object = respond(detail({ state: 'failed', failedAt: finishedAt, error }));
    expect(object.status).toBe('failed');
    expect(object.error).toEqual(expected);
  });

  it('reports usage columns on a failed row', () => {
    const object = respond(
      detail({ state: 'failed', failedAt: finishedAt, error: 'x', promptTokens: 2, completionTokens: 0, totalTokens: 2 }),
    );
    expect(object.usage).toMatchObject({ input_tokens: 2, output_tokens: 0, total_tokens: 2 });
  });

  it('keeps an upstream envelope\'s own string code', () => {
    const error = '{"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded"}}';
    const object = respond(detail({ state: 'failed', failedAt: finishedAt, error }));
    expect(object.error).toEqual({ type: 'invalid_request_error', code: 'context_length_exceeded', message: 'too long' });
  });

  it.each([
    ['Timeout', '{"type":"Timeout","details":{"error":"30 s"}}', 'timeout'],
    ['NetworkError', '{"type":"NetworkError","details":{"error":"ECONNREFUSED"}}', 'network_error'],
    ['Expired', '{"type":"Expired"}', 'expired'],
  ])('reports a %s failure with its string code and no http_status', (_name, error, code) => {
    const object = respond(detail({ state: 'failed', failedAt: finishedAt, error }));
    expect(object.error).toMatchObject({ type: 'server_error', code });
    expect(object.error).not.toHaveProperty('http_status');
  });

  it('echoes the request settings on a failed row', () => {
    const body = JSON.stringify({ model: 'gpt-test', input: 'x', instructions: 'Be brief.', temperature: 0.2 });
    const object = respond(detail({ state: 'failed', failedAt: finishedAt, body, error: 'x' }));
    expect(object).toMatchObject({ instructions: 'Be brief.', temperature: 0.2, incomplete_details: null });
  });
});
