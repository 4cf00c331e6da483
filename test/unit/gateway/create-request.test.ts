import { describe, expect, it } from 'vitest';
import { readCreateRequest } from '../../../src/gateway/create-request.ts';
import { statusForResponse } from '../../../src/gateway/response-status.ts';
import type { ResponseObject } from '../../../src/responses/response-object.ts';

describe('readCreateRequest', () => {
  it.each([
    [{}, 'realtime', 'default'],
    [{ background: true }, 'background', 'default'],
    [{ background: true, service_tier: 'priority' }, 'background', 'priority'],
    [{ service_tier: 'flex' }, 'flex-blocking', 'flex'],
    [{ service_tier: 'flex', background: true }, 'flex-background', 'flex'],
    [{ service_tier: 'auto', background: false, stream: true }, 'realtime', 'auto'],
  ])('routes a /v1/responses body %o to %s', (extra, path, tier) => {
    expect(readCreateRequest('/v1/responses', { model: 'm', ...extra })).toMatchObject({ model: 'm', path, serviceTier: tier });
  });

  it('treats chat and embeddings as realtime whatever they say', () => {
    expect(readCreateRequest('/v1/chat/completions', { model: 'm', background: true, service_tier: 'flex' })).toMatchObject({
      path: 'realtime',
      background: false,
      serviceTier: 'flex',
    });
    expect(readCreateRequest('/v1/embeddings', { model: 'm', service_tier: 'weird' })).toMatchObject({ path: 'realtime', serviceTier: 'default' });
  });

  it.each([
    [null, null],
    [[], null],
    [{}, 'model'],
    [{ model: '' }, 'model'],
    [{ model: 3 }, 'model'],
    [{ model: 'm', stream: 'true' }, 'stream'],
    [{ model: 'm', background: 'yes' }, 'background'],
    [{ model: 'm', service_tier: 'turbo' }, 'service_tier'],
    [{ model: 'm', service_tier: 'flex', stream: true }, 'stream'],
  ])('rejects %o with a 400 naming %s', (body, param) => {
    expect(() => readCreateRequest('/v1/responses', body)).toThrow(expect.objectContaining({ status: 400, param }));
  });
});

describe('statusForResponse', () => {
  const object = (status: ResponseObject['status'], code?: string, httpStatus?: number): ResponseObject => ({
    id: 'resp_x',
    object: 'response',
    created_at: 0,
    status,
    model: 'm',
    background: false,
    service_tier: 'flex',
    output: [],
    completed_at: 0,
    usage: null,
    error: code === undefined ? null : { type: 't', code, message: 'm', ...(httpStatus ? { http_status: httpStatus } : {}) },
  });

  it.each([
    [object('completed'), 200],
    [object('cancelled'), 200],
    [object('incomplete'), 200],
    [object('failed', 'rate_limit_exceeded', 429), 429],
    [object('failed', 'invalid_request_error', 400), 400],
    [object('failed', 'server_error'), 500],
    [object('failed', 'timeout'), 504],
    [object('failed', 'expired'), 504],
    [object('failed', 'network_error'), 502],
    [object('failed', 'tracking_lost'), 500],
  ])('%o → %i', (o, status) => {
    expect(statusForResponse(o)).toBe(status);
  });
});
