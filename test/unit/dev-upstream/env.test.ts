import { describe, expect, it } from 'vitest';
import { devUpstreamOptionsFromEnv } from '../../../src/dev-upstream/env.ts';

describe('devUpstreamOptionsFromEnv', () => {
  it('defaults to 127.0.0.1:8081 with no delays', () => {
    expect(devUpstreamOptionsFromEnv({})).toEqual({ host: '127.0.0.1', port: 8081, latencyMs: 0, chunkDelayMs: 0 });
  });

  it('reads the variables and treats empty ones as unset', () => {
    expect(
      devUpstreamOptionsFromEnv({ DEV_UPSTREAM_PORT: '9000', DEV_UPSTREAM_LATENCY_MS: '25', DEV_UPSTREAM_HOST: '' }),
    ).toEqual({ host: '127.0.0.1', port: 9000, latencyMs: 25, chunkDelayMs: 0 });
  });

  it('names the bad variable', () => {
    expect(() => devUpstreamOptionsFromEnv({ DEV_UPSTREAM_LATENCY_MS: '-3' })).toThrow(/DEV_UPSTREAM_LATENCY_MS/);
    expect(() => devUpstreamOptionsFromEnv({ DEV_UPSTREAM_PORT: 'abc' })).toThrow(/DEV_UPSTREAM_PORT/);
  });
});
