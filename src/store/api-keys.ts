import { createHash, createHmac, randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { apiKeys } from '../db/schema/index.ts';

/**
 * API keys. A key is shown once, when it is created; only its SHA-256 (and a short prefix
 * for recognising it in lists and logs) is stored.
 */

const KEY_PREFIX = 'vk-';
const KEY_CHARS = 40;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Characters of the key kept as `prefix`: `vk-` and five more, too few to guess the rest. */
const DISPLAY_PREFIX_CHARS = 8;

/** A new random key: `vk-` and 40 base62 characters (about 238 bits). */
export function generateApiKey(): string {
  let out = KEY_PREFIX;
  while (out.length < KEY_PREFIX.length + KEY_CHARS) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 * 62: rejecting larger bytes keeps every character equally likely.
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === KEY_PREFIX.length + KEY_CHARS) break;
    }
  }
  return out;
}

/** The stored form of a key: lowercase hex SHA-256. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function apiKeyPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_CHARS);
}

/** What the gateway needs to know about a key. Never includes the key itself. */
export interface ApiKeyOwner {
  id: string;
  userId: string;
  prefix: string;
  /** null: every model. */
  allowedModels: string[] | null;
}

export interface NewApiKey {
  userId: string;
  name?: string;
  /** null or undefined: every model. */
  allowedModels?: string[] | null;
  /** A key chosen by the caller (the `npm start` dev key, derived from the admin token). */
  key?: string;
}

export interface CreatedApiKey extends ApiKeyOwner {
  /** The key itself; shown once, never stored. */
  key: string;
  /** False when a caller-chosen key already existed (then nothing was changed). */
  created: boolean;
}

/**
 * Inserts a key and returns it with its secret. A caller-chosen key that already exists is
 * left as it is (deleted or not) and returned with `created: false`.
 */
export async function insertApiKey(db: Executor, input: NewApiKey): Promise<CreatedApiKey> {
  const key = input.key ?? generateApiKey();
  const secretHash = hashApiKey(key);
  const inserted = await db
    .insert(apiKeys)
    .values({
      userId: input.userId,
      name: input.name ?? 'default',
      secretHash,
      prefix: apiKeyPrefix(key),
      allowedModels: input.allowedModels ?? null,
    })
    .onConflictDoNothing({ target: apiKeys.secretHash })
    .returning(ownerColumns);
  if (inserted[0]) return { ...inserted[0], key, created: true };
  const existing = await db.select(ownerColumns).from(apiKeys).where(eq(apiKeys.secretHash, secretHash));
  return { ...existing[0]!, key, created: false };
}

const ownerColumns = {
  id: apiKeys.id,
  userId: apiKeys.userId,
  prefix: apiKeys.prefix,
  allowedModels: apiKeys.allowedModels,
};

/** The live (not deleted) key with this SHA-256, or undefined. */
export async function findApiKeyByHash(db: Executor, secretHash: string): Promise<ApiKeyOwner | undefined> {
  const rows = await db
    .select(ownerColumns)
    .from(apiKeys)
    .where(and(eq(apiKeys.secretHash, secretHash), eq(apiKeys.isDeleted, false)));
  return rows[0];
}

/** Records that keys were used now. The gateway calls it at most once per cache period per key. */
export async function markApiKeysUsed(db: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.execute(sql`UPDATE api_keys SET last_used_at = now() WHERE id = ANY(${sql.param([...ids])}::uuid[])`);
}

/** Revokes a key; true when this call revoked it. Gateways notice within their key cache's TTL (gateway/auth.ts). */
export async function markApiKeyDeleted(db: Executor, id: string): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ isDeleted: true })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.isDeleted, false)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

/**
 * A key derived from a secret: the same secret and label always give the same key, so
 * `npm start` can re-create its `dev` key idempotently without storing it anywhere. Whoever
 * knows the secret (the admin token) could mint keys anyway.
 */
export function deriveApiKey(secret: string, label: string): string {
  let n = BigInt(`0x${createHmac('sha256', secret).update(label).digest('hex')}`);
  let out = '';
  for (let i = 0; i < KEY_CHARS; i++) {
    out += BASE62[Number(n % 62n)];
    n /= 62n;
  }
  return KEY_PREFIX + out;
}
