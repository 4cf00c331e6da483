import { observeRecord } from '../metrics.ts';
import type { Executor } from '../db/client.ts';
import { realtimeStartRow } from '../jobs/handlers/create-response.ts';
import { completionOf } from '../jobs/handlers/complete-response.ts';
import type { CreateResponsePayload } from '../jobs/definitions.ts';
import { Coalescer } from '../lib/coalescer.ts';
import { writeIsolated } from '../store/isolate.ts';
import { createSingleRequestBatches } from '../store/requests/create.ts';
import { completeResponsesIdempotent, rejectedCompletion } from '../store/requests/complete.ts';
import type { CompleteResponsePayload } from '../jobs/definitions.ts';

/**
 * create-response's write performed by the gateway itself. The hot path needs the request durable before it is answered; a pg-boss
 * insert of one job measured ~2 ms at p50 here (4 ms with workers draining the queue), the
 * same row written directly ~0.2 ms. The write is create-response's own (same row, same
 * ON CONFLICT DO NOTHING), so the race with complete-response is unchanged, and concurrent
 * requests share one statement. The create-response queue stays for producers that can
 * only enqueue (Producer.enqueueCreateResponse).
 *
 * With DURABILITY=fast the gateway gives it a pool with synchronous_commit=off (see
 * durability.ts for what was measured). The row is still committed before the request is
 * answered, so a gateway crash cannot lose it; only a PostgreSQL crash within
 * ~3 x wal_writer_delay can, and then complete-response (committed synchronously, carrying
 * the request as well) recreates it.
 */
export class InlineCreateResponse {
  readonly #writes: Coalescer<CreateResponsePayload>;

  constructor(db: Executor, opts: { maxBatch?: number; maxInFlight?: number } = {}) {
    this.#writes = new Coalescer(async (items) => {
      const rows = items.map(realtimeStartRow).filter((r) => r !== undefined);
      // A row the database refuses is written alone without its body (its completion, which
      // carries the request again, decides its end); its batch-mates are written.
      if (rows.length > 0) await writeIsolated(rows, (batch) => createSingleRequestBatches(db, batch), (r) => ({ ...r, body: '' }));
    }, opts);
  }

  /** Resolves once the `processing` row is committed. */
  record(payload: CreateResponsePayload): Promise<void> {
    return this.#writes.add(payload);
  }

  close(): Promise<void> {
    return this.#writes.drain();
  }
}


/**
 * complete-response's write performed by the gateway itself, before an answer's final bytes
 * go out: with DURABILITY=strict (no answered request can lose its record), and on
 * /v1/responses always (read-your-writes: a client holding the answer finds it `completed`
 * from any gateway, DESIGN 11). The same upsert complete-response runs, so the race with the
 * create write and with a late job is unchanged; concurrent requests share one statement,
 * and a record the database refuses is written alone without its bodies. It runs on a pool
 * that commits synchronously: the client is about to take the answer for stored.
 */
export class InlineCompleteResponse {
  readonly #writes: Coalescer<CompleteResponsePayload>;

  constructor(db: Executor, opts: { maxBatch?: number; maxInFlight?: number } = {}) {
    this.#writes = new Coalescer(async (items) => {
      const rows = items.flatMap((p) => (p.createdBy === null ? [] : [completionOf({ ...p, createdBy: p.createdBy })]));
      if (rows.length > 0) {
        await writeIsolated(rows, (batch) => completeResponsesIdempotent(db, batch, observeRecord), (r, code) => rejectedCompletion(r, 'store', code));
      }
    }, opts);
  }

  /** Resolves once the terminal row is committed. */
  record(payload: CompleteResponsePayload): Promise<void> {
    return this.#writes.add(payload);
  }

  close(): Promise<void> {
    return this.#writes.drain();
  }
}
