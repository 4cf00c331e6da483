import { describe, expect, it } from 'vitest';
import {
  asFailureReason,
  errorTypeForStatus,
  expired,
  failureReasonToError,
  messageFromBody,
  networkError,
  nonRetriableHttpStatus,
  parseFailureReason,
  parseStoredError,
  retriableHttpStatus,
  serializeFailureReason,
  timeout,
  trackingLost,
} from '../../../src/responses/failure-reason.ts';

const envelope = (message: string, type = 'invalid_request_error', code: unknown = 'bad_param') =>
  JSON.stringify({ error: { message, type, param: null, code } });

describe('FailureReason constructors and serialization', () => {
  it('serializes an HTTP status failure to the DESIGN 8.2 JSON', () => {
    expect(serializeFailureReason(nonRetriableHttpStatus(400, 'bad'))).toBe(
      '{"type":"NonRetriableHttpStatus","details":{"status":400,"body":"bad"}}',
    );
    expect(JSON.parse(serializeFailureReason(retriableHttpStatus(503, 'busy')))).toEqual({
      type: 'RetriableHttpStatus',
      details: { status: 503, body: 'busy' },
    });
  });

  it('serializes transport failures with an error string', () => {
    expect(JSON.parse(serializeFailureReason(networkError('ECONNREFUSED')))).toEqual({
      type: 'NetworkError',
      details: { error: 'ECONNREFUSED' },
    });
    expect(JSON.parse(serializeFailureReason(timeout('after 30000 ms')))).toEqual({
      type: 'Timeout',
      details: { error: 'after 30000 ms' },
    });
  });

  it('serializes TrackingLost without details', () => {
    expect(serializeFailureReason(trackingLost())).toBe('{"type":"TrackingLost"}');
  });

  it('serializes Expired with no details, or with the deadline and last failure', () => {
    expect(serializeFailureReason(expired())).toBe('{"type":"Expired"}');
    const reason = expired({ expiresAt: new Date('2025-01-02T03:04:05Z'), last: retriableHttpStatus(503, 'busy') });
    expect(JSON.parse(serializeFailureReason(reason))).toEqual({
      type: 'Expired',
      details: {
        expires_at: '2025-01-02T03:04:05.000Z',
        last: { type: 'RetriableHttpStatus', details: { status: 503, body: 'busy' } },
      },
    });
  });

  it('round-trips every reason through parseFailureReason', () => {
    const reasons = [
      retriableHttpStatus(502, 'x'),
      nonRetriableHttpStatus(404, 'y'),
      networkError('reset'),
      timeout('slow'),
      expired(),
      expired({ expiresAt: new Date(0), last: timeout('slow') }),
      trackingLost(),
    ];
    for (const reason of reasons) expect(parseFailureReason(serializeFailureReason(reason))).toEqual(reason);
  });

  it('does not take other JSON or text for a FailureReason', () => {
    expect(parseFailureReason('not json')).toBeUndefined();
    expect(parseFailureReason(envelope('x'))).toBeUndefined();
    expect(parseFailureReason('{"type":"NonRetriableHttpStatus"}')).toBeUndefined();
    expect(parseFailureReason('{"type":"Canceled"}')).toBeUndefined();
    expect(asFailureReason({ type: 'Timeout', details: { error: 3 } })).toBeUndefined();
  });
});

describe('errorTypeForStatus', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [402, 'insufficient_credits'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [429, 'rate_limit_error'],
    [500, 'server_error'],
    [502, 'server_error'],
    [503, 'server_error'],
    [418, 'server_error'],
    [408, 'server_error'],
  ])('maps %i to %s', (status, type) => {
    expect(errorTypeForStatus(status)).toBe(type);
  });
});

describe('messageFromBody', () => {
  it('takes error.message from an OpenAI error envelope', () => {
    expect(messageFromBody(envelope('model not found'))).toBe('model not found');
  });

  it('returns the raw body when it is not an envelope', () => {
    expect(messageFromBody('Bad Gateway')).toBe('Bad Gateway');
    expect(messageFromBody('{"detail":"nope"}')).toBe('{"detail":"nope"}');
    expect(messageFromBody('{"error":"just a string"}')).toBe('{"error":"just a string"}');
    expect(messageFromBody('')).toBe('');
  });
});

describe('failureReasonToError', () => {
  it('reports HTTP failures with the status as code and the status error type', () => {
    expect(failureReasonToError(nonRetriableHttpStatus(401, envelope('bad key', 'invalid_api_key')))).toEqual({
      type: 'authentication_error',
      code: 401,
      message: 'bad key',
    });
    expect(failureReasonToError(retriableHttpStatus(503, 'overloaded'))).toEqual({
      type: 'server_error',
      code: 503,
      message: 'overloaded',
    });
  });

  it('names the status when the upstream body is empty', () => {
    expect(failureReasonToError(nonRetriableHttpStatus(404, ''))).toEqual({
      type: 'not_found_error',
      code: 404,
      message: 'Upstream returned 404',
    });
  });

  it('reports non-HTTP failures as server_error with a string code', () => {
    expect(failureReasonToError(networkError('ECONNRESET'))).toEqual({
      type: 'server_error',
      code: 'network_error',
      message: 'Network error calling the upstream: ECONNRESET',
    });
    expect(failureReasonToError(timeout('after 60000 ms'))).toMatchObject({
      type: 'server_error',
      code: 'timeout',
      message: expect.stringContaining('after 60000 ms'),
    });
    expect(failureReasonToError(trackingLost())).toMatchObject({ type: 'server_error', code: 'tracking_lost' });
    expect(failureReasonToError(expired())).toEqual({
      type: 'server_error',
      code: 'expired',
      message: 'The request expired before it could complete',
    });
  });

  it('mentions the deadline and the last failure of an expired request', () => {
    const error = failureReasonToError(
      expired({ expiresAt: new Date('2025-01-01T00:00:00Z'), last: retriableHttpStatus(429, envelope('slow down')) }),
    );
    expect(error.code).toBe('expired');
    expect(error.message).toBe(
      'The request expired before it could complete (deadline 2025-01-01T00:00:00.000Z); last failure: slow down',
    );
  });
});

describe('parseStoredError', () => {
  it('parses FailureReason JSON', () => {
    expect(parseStoredError(serializeFailureReason(nonRetriableHttpStatus(400, envelope('bad temperature'))))).toEqual({
      type: 'invalid_request_error',
      code: 400,
      message: 'bad temperature',
    });
    expect(parseStoredError('{"type":"NonRetriableHttpStatus","details":{"status":403,"body":"denied"}}')).toEqual({
      type: 'permission_error',
      code: 403,
      message: 'denied',
    });
    expect(parseStoredError('{"type":"TrackingLost"}')).toMatchObject({ type: 'server_error', code: 'tracking_lost' });
  });

  it('parses the legacy "Upstream returned <status>: <body>" text', () => {
    expect(parseStoredError('Upstream returned 429: Too many requests')).toEqual({
      type: 'rate_limit_error',
      code: 429,
      message: 'Too many requests',
    });
    expect(parseStoredError(`Upstream returned 404: ${envelope('no such model')}`)).toEqual({
      type: 'not_found_error',
      code: 404,
      message: 'no such model',
    });
    expect(parseStoredError('Upstream returned 500: line one\nline two')).toEqual({
      type: 'server_error',
      code: 500,
      message: 'line one\nline two',
    });
  });

  it('parses a raw OpenAI error envelope, keeping its type and code', () => {
    expect(parseStoredError(envelope('quota exceeded', 'insufficient_quota', 'insufficient_quota'))).toEqual({
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      message: 'quota exceeded',
    });
    expect(parseStoredError('{"error":{"message":"boom"}}')).toEqual({
      type: 'server_error',
      code: null,
      message: 'boom',
    });
    expect(parseStoredError(envelope('numeric', 'server_error', 500))).toEqual({
      type: 'server_error',
      code: 500,
      message: 'numeric',
    });
  });

  it('reports plain text as a server_error with no code', () => {
    expect(parseStoredError('connection reset by peer')).toEqual({
      type: 'server_error',
      code: null,
      message: 'connection reset by peer',
    });
    expect(parseStoredError('{"unexpected":true}')).toEqual({
      type: 'server_error',
      code: null,
      message: '{"unexpected":true}',
    });
    expect(parseStoredError('')).toEqual({ type: 'server_error', code: null, message: 'The request failed' });
  });
});
