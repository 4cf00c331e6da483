import { describe, expect, it, vi } from 'vitest';
import { authenticate, checkModel, createKeyCache } from '../../../src/gateway/auth.ts';
import { bearerToken } from '../../../src/lib/bearer.ts';
import { HttpError } from '../../../src/gateway/http-errors.ts';
import { generateApiKey, hashApiKey, type ApiKeyOwner } from '../../../src/store/api-keys.ts';

const owner: ApiKeyOwner = { id: 'k1', userId: 'u1', prefix: 'vk-abcde', allowedModels: null };

function setup(opts: { known?: Record<string, ApiKeyOwner>; ttlMs?: number; negativeTtlMs?: number; maxEntries?: number } = {}) {
  let now = 1_000;
  const known = new Map(Object.entries(opts.known ?? {}).map(([key, o]) => [hashApiKey(key), o]));
  const lookup = vi.fn(async (hash: string) => known.get(hash));
  const onUsed = vi.fn();
  const cache = createKeyCache({
    lookup,
    onUsed,
    ttlMs: opts.ttlMs ?? 30_000,
    ...(opts.negativeTtlMs !== undefined ? { negativeTtlMs: opts.negativeTtlMs } : {}),
    ...(opts.maxEntries !== undefined ? { maxEntries: opts.maxEntries } : {}),
    now: () => now,
  });
  return { cache, lookup, onUsed, advance: (ms: number) => (now += ms) };
}

describe('key cache', () => {
  it('looks a key up once per TTL, by its SHA-256', async () => {
    const { cache, lookup, onUsed, advance } = setup({ known: { 'vk-good': owner } });
    expect(await cache.resolve('vk-good')).toBe(owner);
    expect(await cache.resolve('vk-good')).toBe(owner);
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(lookup).toHaveBeenCalledWith(hashApiKey('vk-good'));
    expect(onUsed).toHaveBeenCalledTimes(1);
    advance(30_001);
    await cache.resolve('vk-good');
    expect(lookup).toHaveBeenCalledTimes(2);
  });

  it('remembers unknown keys for a shorter time', async () => {
    const { cache, lookup, advance } = setup({ negativeTtlMs: 1_000 });
    expect(await cache.resolve('vk-bad')).toBeUndefined();
    expect(await cache.resolve('vk-bad')).toBeUndefined();
    expect(lookup).toHaveBeenCalledTimes(1);
    advance(1_001);
    await cache.resolve('vk-bad');
    expect(lookup).toHaveBeenCalledTimes(2);
  });

  it('shares one lookup between concurrent misses', async () => {
    const { cache, lookup } = setup({ known: { 'vk-good': owner } });
    const results = await Promise.all([cache.resolve('vk-good'), cache.resolve('vk-good'), cache.resolve('vk-good')]);
    expect(results).toEqual([owner, owner, owner]);
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('stays bounded under a flood of unknown keys', async () => {
    const { cache } = setup({ maxEntries: 100 });
    for (let i = 0; i < 1_000; i++) await cache.resolve(`vk-flood-${i}`);
    expect(cache.size).toBeLessThanOrEqual(100);
  });

  it('keeps a key in use through a flood of unknown keys (least recently used go first)', async () => {
    const { cache, lookup } = setup({ known: { 'vk-good': owner }, maxEntries: 100 });
    await cache.resolve('vk-good');
    for (let i = 0; i < 1_000; i++) {
      await cache.resolve(`vk-flood-${i}`);
      if (i % 10 === 0) expect(await cache.resolve('vk-good')).toBe(owner);
    }
    expect(lookup.mock.calls.filter(([hash]) => hash === hashApiKey('vk-good'))).toHaveLength(1);
  });

  it('does not cache a failed lookup', async () => {
    const lookup = vi.fn().mockRejectedValueOnce(new Error('db down')).mockResolvedValueOnce(owner);
    const cache = createKeyCache({ lookup, ttlMs: 30_000 });
    await expect(cache.resolve('vk-good')).rejects.toThrow('db down');
    expect(await cache.resolve('vk-good')).toBe(owner);
  });

  it('with a TTL of 0, asks the database every time', async () => {
    const { cache, lookup } = setup({ known: { 'vk-good': owner }, ttlMs: 0, negativeTtlMs: 0 });
    await cache.resolve('vk-good');
    await cache.resolve('vk-good');
    expect(lookup).toHaveBeenCalledTimes(2);
  });
});

describe('authenticate', () => {
  it('reads a Bearer token', () => {
    expect(bearerToken('Bearer vk-1')).toBe('vk-1');
    expect(bearerToken('bearer   vk-1 ')).toBe('vk-1');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('401 missing_api_key without a header, invalid_api_key for an unknown key', async () => {
    const { cache } = setup({ known: { 'vk-good': owner } });
    await expect(authenticate(cache, undefined)).rejects.toMatchObject({ status: 401, code: 'missing_api_key' });
    const err = await authenticate(cache, 'Bearer vk-unknown-secret-key').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
    // The message shows only the prefix of what was sent.
    expect((err as HttpError).message).not.toContain('secret-key');
    expect(await authenticate(cache, 'Bearer vk-good')).toBe(owner);
  });

  it('403 for a model outside the allow-list; null allows all', () => {
    expect(() => checkModel(owner, 'anything')).not.toThrow();
    const limited = { ...owner, allowedModels: ['a'] };
    expect(() => checkModel(limited, 'a')).not.toThrow();
    expect(() => checkModel(limited, 'b')).toThrow(expect.objectContaining({ status: 403, code: 'model_not_allowed' }));
  });
});

describe('generated keys', () => {
  it('are vk- and 40 base62 characters, all different', () => {
    const keys = new Set(Array.from({ length: 200 }, generateApiKey));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(k).toMatch(/^vk-[0-9A-Za-z]{40}$/);
  });
});
