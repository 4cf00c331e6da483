import { API_KEYS_CHANNEL } from '../db/channels.ts';
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

/**
 * Revokes a key; true when this call revoked it. The change is announced on API_KEYS_CHANNEL
 * in the same transaction, so every gateway drops its cached keys within a round trip (and
 * within KEY_CACHE_TTL_MS should the notification be lost).
 */
export async function markApiKeyDeleted(db: Executor, id: string): Promise<boolean> {
  const result = await db.execute(sql`
    WITH revoked AS (
      UPDATE api_keys SET is_deleted = true, revoked_at = now() WHERE id = ${id}::uuid AND NOT is_deleted RETURNING id
    )
    SELECT pg_notify(${API_KEYS_CHANNEL}, id::text) FROM revoked`);
  return result.rows.length > 0;
}

/** A key as /admin/api-keys lists it: never its secret. */
export interface ListedApiKey {
  id: string;
  prefix: string;
  name: string;
  userId: string;
  userName: string;
  allowedModels: string[] | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const listedColumns = sql.raw(`k.id, k.prefix, k.name, k.user_id, u.name AS user_name, k.allowed_models, k.created_at,
  k.last_used_at, k.revoked_at, k.is_deleted`);

function toListed(r: Record<string, unknown>): ListedApiKey {
  const date = (v: unknown) => (v == null ? null : new Date(v as string));
  return {
    id: r.id as string,
    prefix: r.prefix as string,
    name: r.name as string,
    userId: r.user_id as string,
    userName: r.user_name as string,
    allowedModels: (r.allowed_models as string[] | null) ?? null,
    createdAt: date(r.created_at)!,
    lastUsedAt: date(r.last_used_at),
    // Keys revoked before revoked_at existed say when they were made, for want of better.
    revokedAt: date(r.revoked_at) ?? (r.is_deleted ? date(r.created_at) : null),
  };
}

/** Every key, newest first (revoked ones too, marked); `userId` narrows to one user's. */
export async function listApiKeys(db: Executor, opts: { userId?: string } = {}): Promise<ListedApiKey[]> {
  const result = await db.execute<Record<string, unknown>>(sql`
    SELECT ${listedColumns} FROM api_keys k JOIN users u ON u.id = k.user_id
    ${opts.userId !== undefined ? sql`WHERE k.user_id = ${opts.userId}::uuid` : sql``}
    ORDER BY k.created_at DESC, k.id DESC`);
  return result.rows.map(toListed);
}

export async function findListedApiKey(db: Executor, id: string): Promise<ListedApiKey | undefined> {
  const result = await db.execute<Record<string, unknown>>(sql`
    SELECT ${listedColumns} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ${id}::uuid`);
  return result.rows[0] ? toListed(result.rows[0]) : undefined;
}

/** Sets the models a key may call (null: every model), announced like a revocation. False: no such key. */
export async function updateApiKeyModels(db: Executor, id: string, models: string[] | null): Promise<boolean> {
  const result = await db.execute(sql`
    WITH changed AS (UPDATE api_keys SET allowed_models = ${models === null ? null : sql.param(models)}::text[]
                     WHERE id = ${id}::uuid RETURNING id)
    SELECT pg_notify(${API_KEYS_CHANNEL}, id::text) FROM changed`);
  return result.rows.length > 0;
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
