// API key authentication for the hot path: a key is hashed (SHA-256, as stored) and looked
// up in a short-TTL in-process cache keyed by the hash (lru-cache: TTL, a size bound with
// least-recently-used eviction, and one shared lookup for concurrent misses), so a busy key
// costs one database query per TTL, not one per request. Unknown keys are cached too, for a
// shorter time, so a flood of bad keys does not turn into a flood of queries. A revoked key
// stops working within the TTL on every gateway.
import { LRUCache } from 'lru-cache';
import { bearerToken } from '../lib/bearer.ts';
import { apiKeyPrefix, hashApiKey, type ApiKeyOwner } from '../store/api-keys.ts';
import { invalidApiKey, missingApiKey, modelNotAllowed } from './http-errors.ts';

/**
 * How long a gateway trusts what it read about a key: a busy key costs one query per 30 s,
 * and a change made elsewhere (a revocation, new models) reaches this process within it.
 */
export const KEY_CACHE_TTL_MS = 30_000;

export interface KeyCacheOptions {
  /** Loads the live key with this hash (undefined: unknown or revoked). */
  lookup(hash: string): Promise<ApiKeyOwner | undefined>;
  /** Called (at most once per key per TTL) when a key was used; for `last_used_at`. */
  onUsed?(keyId: string): void;
  ttlMs: number;
  /** How long an unknown key is remembered; default min(ttlMs, 5 s). */
  negativeTtlMs?: number;
  /** Entries kept at most; the least recently used go first. Bounds memory under a bad-key flood. */
  maxEntries?: number;
  now?: () => number;
}

export interface KeyCache {
  /** The key's owner, or undefined for an unknown or revoked key. */
  resolve(key: string): Promise<ApiKeyOwner | undefined>;
  /** Forgets every entry (tests, and an admin revoking a key in this process). */
  clear(): void;
  readonly size: number;
}

/** A cached answer; `owner: null` remembers an unknown key. */
interface Entry {
  owner: ApiKeyOwner | null;
}

export function createKeyCache(opts: KeyCacheOptions): KeyCache {
  const negativeTtl = opts.negativeTtlMs ?? Math.min(opts.ttlMs, 5_000);
  const load = async (hash: string): Promise<Entry> => {
    const owner = await opts.lookup(hash);
    if (owner) opts.onUsed?.(owner.id);
    return { owner: owner ?? null };
  };
  // lru-cache reads a TTL of 0 as "forever", so a TTL of 0 here means a lookup every time.
  const ttlOf = (entry: Entry) => (entry.owner ? opts.ttlMs : negativeTtl);
  const cache = new LRUCache<string, Entry>({
    max: opts.maxEntries ?? 10_000,
    ttl: Math.max(opts.ttlMs, negativeTtl, 1),
    // Read the clock on every check (by default it is cached for 1 ms).
    ttlResolution: 0,
    ...(opts.now ? { perf: { now: opts.now } } : {}),
    fetchMethod: async (hash, _stale, { options }) => {
      const entry = await load(hash);
      options.ttl = Math.max(ttlOf(entry), 1);
      return entry;
    },
  });

  return {
    async resolve(key) {
      const hash = hashApiKey(key);
      const entry = await cache.fetch(hash);
      if (entry === undefined) return undefined;
      if (ttlOf(entry) === 0) cache.delete(hash);
      return entry.owner ?? undefined;
    },
    clear: () => cache.clear(),
    get size() {
      return cache.size;
    },
  };
}

/** Resolves the request's key or throws the 401 the client should get. */
export async function authenticate(cache: KeyCache, authorization: string | undefined): Promise<ApiKeyOwner> {
  const key = bearerToken(authorization);
  if (key === undefined) throw missingApiKey();
  const owner = await cache.resolve(key);
  if (owner === undefined) throw invalidApiKey(apiKeyPrefix(key));
  return owner;
}

/** Throws 403 unless the key may call `model`. */
export function checkModel(owner: ApiKeyOwner, model: string): void {
  if (owner.allowedModels !== null && !owner.allowedModels.includes(model)) throw modelNotAllowed(model);
}
