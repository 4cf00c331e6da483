import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { requests } from '../../db/schema/index.ts';
import { RequestNotFound } from '../../errors.ts';
import { toRequestDetail, type RequestDetail } from './rows.ts';

/** Reading requests. */

export async function requestExists(db: Executor, id: string): Promise<boolean> {
  const rows = await db.select({ id: requests.id }).from(requests).where(eq(requests.id, id));
  return rows.length > 0;
}

/** The request joined with its batch (owner, completion window), or undefined. */
export async function findRequestDetail(db: Executor, id: string): Promise<RequestDetail | undefined> {
  const result = await db.execute<Record<string, unknown>>(sql`
    SELECT r.*, b.completion_window FROM requests r LEFT JOIN batches b ON b.id = r.batch_id WHERE r.id = ${id}`);
  const row = result.rows[0];
  return row ? toRequestDetail(row) : undefined;
}

/** Several requests with their batch, for the poller's batched checks. */
export async function findRequestDetails(db: Executor, ids: readonly string[]): Promise<RequestDetail[]> {
  if (ids.length === 0) return [];
  const result = await db.execute<Record<string, unknown>>(sql`
    SELECT r.*, b.completion_window FROM requests r LEFT JOIN batches b ON b.id = r.batch_id
    WHERE r.id = ANY(${sql.param(ids)}::uuid[])`);
  return result.rows.map(toRequestDetail);
}

/** @throws RequestNotFound */
export async function getRequestDetail(db: Executor, id: string): Promise<RequestDetail> {
  const detail = await findRequestDetail(db, id);
  if (!detail) throw new RequestNotFound(id);
  return detail;
}


/** Which of `ids` are canceled: the processor's backstop for cancel notifications it missed. */
export async function findCanceledRequestIds(db: Executor, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const result = await db.execute<{ id: string }>(
    sql`SELECT id FROM requests WHERE id = ANY(${sql.param([...ids])}::uuid[]) AND state = 'canceled'`,
  );
  return result.rows.map((r) => r.id);
}

/** A request's state, or undefined when there is no such row (or the id is not a uuid). */
export async function findRequestState(db: Executor, id: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
  const rows = await db.select({ state: requests.state }).from(requests).where(eq(requests.id, id));
  return rows[0]?.state;
}
