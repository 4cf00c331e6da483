import type { Executor } from '../../db/client.ts';
import { epochNow } from '../../lib/clock.ts';
import { observeRecord, trackingLag, type RecordMetrics } from '../../metrics.ts';
import type { Logger } from '../../logger.ts';
import { writeIsolated } from '../../store/isolate.ts';
import { completeResponsesIdempotent, rejectedCompletion, type RealtimeCompletion } from '../../store/requests/complete.ts';
import type { CompleteResponsePayload } from '../definitions.ts';
import { inStatements, type BatchHandler, type Outcome } from '../run.ts';

/**
 * complete-response: create the row if missing and make it terminal, one statement for the
 * whole batch (or per MAX_ROWS_PER_STATEMENT records). Every attempt of a job carries the same payload and the upsert is guarded
 * on "not terminal yet", so a duplicate, concurrent or stale attempt changes nothing once
 * one attempt has committed.
 */
/** Each record this handler wrote, in the GenAI metrics and the tracking lag (answer → committed). */
function written(r: RecordMetrics & { finishedAt: number }): void {
  observeRecord(r);
  trackingLag.observe(Math.max(0, epochNow() - r.finishedAt) / 1000);
}

export function completeResponseHandler(db: Executor): BatchHandler<CompleteResponsePayload> {
  return async (jobs, log) => {
    const outcomes = new Map<string, Outcome>();
    const rows: RealtimeCompletion[] = [];
    for (const job of jobs) {
      const p = job.data;
      if (p.createdBy === null) {
        outcomes.set(job.id, { status: 'completed', output: { skipped: 'untracked key' } });
        continue;
      }
      rows.push(completionOf({ ...p, createdBy: p.createdBy }));
    }
    // A record the database refuses is written alone, without its bodies; its batch-mates are written.
    const result = new Map(
      await inStatements(rows, (slice) =>
        writeIsolated(
          slice,
          async (batch) => completeResponsesIdempotent(db, batch, written),
          (r, code) => rejectedCompletion(r, 'store', code),
          (r, code) => rejectedLog(log, r.requestId, code),
        ),
      ),
    );
    for (const job of jobs) {
      if (outcomes.has(job.id)) continue;
      outcomes.set(job.id, { status: 'completed', output: { outcome: result.get(job.data.requestId) } });
    }
    return outcomes;
  };
}

/** One line for a record stored without its bodies: its id and the database's code, nothing of its data. */
export function rejectedLog(log: Logger, requestId: string, code: string): void {
  log.error({ requestId, code }, 'the database refused a record; stored without its bodies, failed with RecordRejected');
}

/** A complete-response record as the store writes it (the owner known: untracked records are skipped). */
export function completionOf(p: CompleteResponsePayload & { createdBy: string }): RealtimeCompletion {
  return {
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
    ...(p.rejected ? { rejected: p.rejected } : {}),
    ...(p.previousRequestId ? { previousRequestId: p.previousRequestId } : {}),
    ...(p.store === false ? { store: false } : {}),
    ...(p.usage ? { usage: p.usage } : {}),
    ...(p.timings ? { timings: p.timings } : {}),
    ...(p.metadata ? { headerMetadata: p.metadata } : {}),
    ...(p.facts ? { facts: p.facts } : {}),
  };
}
