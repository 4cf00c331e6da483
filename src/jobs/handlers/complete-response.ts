import type { Executor } from '../../db/client.ts';
import { completeResponsesIdempotent, type RealtimeCompletion } from '../../store/requests/complete.ts';
import type { CompleteResponsePayload } from '../definitions.ts';
import { inStatements, type BatchHandler, type Outcome } from '../run.ts';

/**
 * complete-response: create the row if missing and make it terminal, one statement for the
 * whole batch (or per MAX_ROWS_PER_STATEMENT records). Every attempt of a job carries the same payload and the upsert is guarded
 * on "not terminal yet", so a duplicate, concurrent or stale attempt changes nothing once
 * one attempt has committed.
 */
export function completeResponseHandler(db: Executor): BatchHandler<CompleteResponsePayload> {
  return async (jobs) => {
    const outcomes = new Map<string, Outcome>();
    const rows: RealtimeCompletion[] = [];
    for (const job of jobs) {
      const p = job.data;
      if (p.createdBy === null) {
        outcomes.set(job.id, { status: 'completed', output: { skipped: 'untracked key' } });
        continue;
      }
      rows.push({
        requestId: p.requestId,
        batchId: p.batchId,
        endpoint: p.endpoint,
        model: p.model,
        serviceTier: p.serviceTier,
        requestBody: p.requestBody,
        createdBy: p.createdBy,
        apiKeyId: p.apiKeyId,
        statusCode: p.statusCode,
        responseBody: p.responseBody,
        startedAt: new Date(p.startedAt),
        finishedAt: new Date(p.finishedAt),
      });
    }
    const result = new Map(await inStatements(rows, (slice) => completeResponsesIdempotent(db, slice)));
    for (const job of jobs) {
      if (outcomes.has(job.id)) continue;
      outcomes.set(job.id, { status: 'completed', output: { outcome: result.get(job.data.requestId) } });
    }
    return outcomes;
  };
}
