import { describe, expect, it } from 'vitest';
import { resolveControls } from '../../../src/dev-upstream/controls.ts';

const defaults = { latencyMs: 7, chunkDelayMs: 3 };

describe('resolveControls', () => {
  it('uses the server defaults when neither headers nor model ask for anything', () => {
    expect(resolveControls({}, 'gpt-4o-mini', defaults)).toEqual({ latencyMs: 7, chunkDelayMs: 3, status: undefined });
    expect(resolveControls({}, undefined, defaults)).toEqual({ latencyMs: 7, chunkDelayMs: 3, status: undefined });
  });

  it('reads the x-dev-* header values', () => {
    expect(resolveControls({ latencyMs: '250', chunkDelayMs: '40', status: '503' }, 'm', defaults)).toEqual({
      latencyMs: 250,
      chunkDelayMs: 40,
      status: 503,
    });
  });

  it('takes the first value of a repeated header', () => {
    expect(resolveControls({ status: ['429', '500'] }, 'm', defaults).status).toBe(429);
  });

  it('reads dev-status-, dev-slow- and dev-chunk- from the model name, combined and after a prefix', () => {
    expect(resolveControls({}, 'dev-status-500', defaults).status).toBe(500);
    expect(resolveControls({}, 'dev-slow-1200', defaults).latencyMs).toBe(1200);
    expect(resolveControls({}, 'gpt-4o-dev-slow-50', defaults).latencyMs).toBe(50);
    expect(resolveControls({}, 'dev-slow-100-dev-chunk-20-dev-status-429', defaults)).toEqual({
      latencyMs: 100,
      chunkDelayMs: 20,
      status: 429,
    });
  });

  it('lets a header win over the model name', () => {
    expect(resolveControls({ latencyMs: '5', status: '401' }, 'dev-slow-900-dev-status-500', defaults)).toEqual({
      latencyMs: 5,
      chunkDelayMs: 3,
      status: 401,
    });
  });

  it('ignores values that do not parse or are out of range', () => {
    const ignored = resolveControls(
      { latencyMs: 'soon', chunkDelayMs: '-1', status: '200' },
      'dev-status-700-dev-slow-x',
      defaults,
    );
    expect(ignored).toEqual({ latencyMs: 7, chunkDelayMs: 3, status: undefined });
    expect(resolveControls({ latencyMs: '1.5', status: '5000' }, 'm', defaults)).toEqual({
      latencyMs: 7,
      chunkDelayMs: 3,
      status: undefined,
    });
    expect(resolveControls({ latencyMs: '600001' }, 'm', defaults).latencyMs).toBe(7);
  });

  it('does not match the markers inside another word or number', () => {
    expect(resolveControls({}, 'mydev-status-500', defaults).status).toBeUndefined();
    expect(resolveControls({}, 'dev-status-5000', defaults).status).toBeUndefined();
  });
});
