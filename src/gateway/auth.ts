// API key authentication for the hot path: a key is hashed (SHA-256, as stored) and looked
// up in a short-TTL in-process cache keyed by the hash, so a busy key costs one database
// query per TTL, not one per request. Unknown keys are cached too, for a shorter time, so a
// flood of bad keys does not turn into a flood of queries. A revoked key stops working
// within the TTL on every gateway.
import { apiKeyPrefix, hashApiKey, type ApiKeyOwner } from '../store/api-keys.ts';
import { invalidApiKey, missingApiKey, modelNotAllowed } from './http-errors.ts';

export interface KeyCacheOptions {
  /** Loads the live key with this hash (undefined: unknown or revoked). */
  lookup(hash: string): Promise<ApiKeyOwner | undefined>;
  /** Called (at most once per key per TTL) when a key was used; for `last_used_at`. */
  onUsed?(keyId: string): void;
  ttlMs: number;
  /** How long an unknown key is remembered; default min(ttlMs, 5 s). */
  negativeTtlMs?: number;
  /** Entries kept at most; the oldest go first. Bounds memory under a bad-key flood. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  owner: ApiKeyOwner | undefined;
  expiresAt: number;
}

export interface KeyCache {
  /** The key's owner, or undefined for an unknown or revoked key. */
  resolve(key: string): Promise<ApiKeyOwner | undefined>;
  /** Forgets every entry (tests, and an admin revoking a key in this process). */
  clear(): void;
  readonly size: number;
}

export function createKeyCache(opts: KeyCacheOptions): KeyCache {
  const now = opts.now ?? Date.now;
  const negativeTtl = opts.negativeTtlMs ?? Math.min(opts.ttlMs, 5_000);
  const maxEntries = opts.maxEntries ?? 10_000;
  const entries = new Map<string, Entry>();
  // Concurrent misses for one key share one query.
  const loading = new Map<string, Promise<ApiKeyOwner | undefined>>();

  const load = (hash: string): Promise<ApiKeyOwner | undefined> => {
    let pending = loading.get(hash);
    if (pending) return pending;
    pending = opts
      .lookup(hash)
      .then((owner) => {
        const ttl = owner ? opts.ttlMs : negativeTtl;
        if (ttl > 0) {
          if (entries.size >= maxEntries) {
            // Maps iterate in insertion order: the first key is the oldest entry.
            const oldest = entries.keys().next();
            if (!oldest.done) entries.delete(oldest.value);
          }
          entries.set(hash, { owner, expiresAt: now() + ttl });
        }
        if (owner) opts.onUsed?.(owner.id);
        return owner;
      })
      .finally(() => loading.delete(hash));
    loading.set(hash, pending);
    return pending;
  };

  return {
    async resolve(key) {
      const hash = hashApiKey(key);
      const entry = entries.get(hash);
      if (entry !== undefined) {
        if (entry.expiresAt > now()) return entry.owner;
        entries.delete(hash);
      }
      return load(hash);
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}

/** The key in an `Authorization: Bearer <key>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
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
