import { describe, expect, it } from 'vitest';
import { HttpError, toHttpError } from '../../../src/gateway/http-errors.ts';
import { errorTypeForReply } from '../../../src/responses/failure-reason.ts';
import { InvalidResponseId, RequestNotFound, Validation, WaitTimeout } from '../../../src/errors.ts';

function fastifyError(code: string, statusCode: number, message = 'm') {
  return Object.assign(new Error(message), { code, statusCode });
}

describe('toHttpError', () => {
  it.each([
    [new HttpError(403, 'no', { code: 'model_not_allowed', param: 'model' }), 403, 'permission_error', 'model_not_allowed'],
    [new InvalidResponseId('x'), 404, 'not_found_error', 'response_not_found'],
    [new RequestNotFound('0191f3a4-6b2c-7d3e-8f40-123456789abc'), 404, 'not_found_error', 'response_not_found'],
    [new Validation('bad', [{ path: 'user', message: 'required' }]), 400, 'invalid_request_error', 'invalid_request'],
    [new WaitTimeout('id', 10), 504, 'server_error', 'timeout'],
    [fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413), 413, 'invalid_request_error', 'request_too_large'],
    [fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415), 415, 'invalid_request_error', 'unsupported_media_type'],
    [fastifyError('FST_ERR_CTP_EMPTY_JSON_BODY', 400), 400, 'invalid_request_error', 'invalid_json'],
    [fastifyError('FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400), 400, 'invalid_request_error', 'err_ctp_invalid_content_length'],
  ])('%o → %i %s', (err, status, type, code) => {
    const answer = toHttpError(err);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ type, code });
    expect(Object.keys(answer.body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(answer.unexpected).toBe(false);
  });

  it('names the parameter of a validation error', () => {
    expect(toHttpError(new Validation('bad', [{ path: 'user', message: 'x' }])).body.error.param).toBe('user');
  });

  it('hides the details of unexpected errors', () => {
    const answer = toHttpError(new Error('connection string postgres://secret@db'));
    expect(answer).toMatchObject({ status: 500, unexpected: true, body: { error: { type: 'server_error', code: 'internal_error' } } });
    expect(answer.body.error.message).not.toContain('secret');
    expect(toHttpError('a string').status).toBe(500);
    expect(toHttpError(null).status).toBe(500);
  });

  it('labels its own answers with the OpenAI error type of their status', () => {
    expect([400, 401, 402, 403, 404, 409, 413, 429, 500, 502, 504].map(errorTypeForReply)).toEqual([
      'invalid_request_error',
      'authentication_error',
      'insufficient_credits',
      'permission_error',
      'not_found_error',
      'invalid_request_error',
      'invalid_request_error',
      'rate_limit_error',
      'server_error',
      'server_error',
      'server_error',
    ]);
  });
});
