import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { parseDuration } from '../../../src/lib/duration.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const env = loadConfig({});
    expect(env).toMatchObject({
      PORT: 8080,
      DATA_DIR: '.data',
      FLEX_COMPLETION_WINDOW: '1h',
      BACKGROUND_COMPLETION_WINDOW: '10m',
      MAX_BODY_BYTES: 10 * 1024 * 1024,
    });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it.each([
    ['PORT', 'eighty'],
    ['FLEX_COMPLETION_WINDOW', 'an hour'],
    ['MAX_BODY_BYTES', '-1'],
    ['UPSTREAM_URL', 'not a url'],
    ['MODEL_CONCURRENCY', 'zero'],
  ])('a bad %s stops start-up with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it('requires ADMIN_TOKEN when DATABASE_URL is set', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@localhost/db', UPSTREAM_URL: 'dev' })).toThrow(/ADMIN_TOKEN/);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@localhost/db', ADMIN_TOKEN: 'x'.repeat(20), UPSTREAM_URL: 'dev' }).ADMIN_TOKEN).toBe(
      'x'.repeat(20),
    );
  });

  it('requires UPSTREAM_URL when DATABASE_URL is set: no deployment records the echo server by accident', () => {
    const base = { DATABASE_URL: 'postgres://u@localhost/db', ADMIN_TOKEN: 'x'.repeat(20) };
    expect(() => loadConfig(base)).toThrow(/UPSTREAM_URL: required when DATABASE_URL is set/);
    expect(loadConfig({ ...base, UPSTREAM_URL: 'dev' }).UPSTREAM_URL).toBe('dev');
    expect(loadConfig({ ...base, UPSTREAM_URL: 'http://vllm:8000/v1' }).UPSTREAM_URL).toBe('http://vllm:8000/v1');
    // npm start on its embedded database: the development upstream, as before.
    expect(loadConfig({}).UPSTREAM_URL).toBeUndefined();
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(8080);
  });
});

describe('parseDuration', () => {
  it.each([
    ['0s', 0],
    ['250ms', 250],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '1', 'h', '1.5h', '-1m', '1 h', '1w'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});
