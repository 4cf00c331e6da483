import type { Executor } from '../../db/client.ts';
import { createSingleRequestBatches, type NewRequest } from '../../store/requests/create.ts';
import { writeIsolated } from '../../store/isolate.ts';
import type { CreateResponsePayload } from '../definitions.ts';
import { rejectedLog } from './complete-response.ts';
import { inStatements, type BatchHandler, type Outcome } from '../run.ts';

/** The `processing` row create-response writes; undefined for an untracked (ownerless) key. */
export function realtimeStartRow(p: CreateResponsePayload): NewRequest | undefined {
  if (p.createdBy === null) return undefined;
  return {
    requestId: p.requestId,
    batchId: p.batchId,
    endpoint: p.endpoint,
    model: p.model,
    serviceTier: p.serviceTier,
    background: false,
    body: p.body,
    createdBy: p.createdBy,
    apiKeyId: p.apiKeyId,
    state: 'processing',
    completionWindow: '0s',
    expiresAt: null,
    ...(p.previousRequestId ? { previousRequestId: p.previousRequestId } : {}),
    ...(p.store === false ? { store: false } : {}),
  };
}

/**
 * create-response: record a realtime request as `processing` before (or while) the gateway
 * proxies it. Skipped (done) when the key had no owner. An insert that finds the row already
 * there, in any state, is success: complete-response may have won the race, and it must not
 * be downgraded. The whole batch is one statement (or one per MAX_ROWS_PER_STATEMENT records).
 */
export function createResponseHandler(db: Executor): BatchHandler<CreateResponsePayload> {
  return async (jobs, log) => {
    const outcomes = new Map<string, Outcome>();
    const rows: NewRequest[] = [];
    for (const job of jobs) {
      const row = realtimeStartRow(job.data);
      if (row) rows.push(row);
      else outcomes.set(job.id, { status: 'completed', output: { skipped: 'untracked key' } });
    }
    // A row the database refuses is written alone without its body (complete-response, which
    // carries the request again, decides its end); its batch-mates are written.
    const inserted = new Set(
      await inStatements(rows, (slice) =>
        writeIsolated(slice, (batch) => createSingleRequestBatches(db, batch), (r) => ({ ...r, body: '' }), (r, code) => rejectedLog(log, r.requestId, code)),
      ),
    );
    for (const job of jobs) {
      if (outcomes.has(job.id)) continue;
      outcomes.set(job.id, { status: 'completed', output: { inserted: inserted.has(job.data.requestId) } });
    }
    return outcomes;
  };
}
