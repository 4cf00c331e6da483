import { z } from 'zod';
import type { Queue } from 'pg-boss';
import { QUEUES, type QueueName } from '../db/pgboss.ts';
import { SERVICE_TIERS } from '../db/schema/requests.ts';

/**
 * The single map from queue name to payload schema and queue options. The names themselves
 * live in db/pgboss.ts, beside what volley's SQL reads of pg-boss's job table.
 */
export { QUEUES, type QueueName } from '../db/pgboss.ts';

export function deadLetterQueue(queue: QueueName): string {
  return `${queue}.dlq`;
}

const id = z.uuid();
const endpoint = z.string().regex(/^\/v1\/[a-z/_-]+$/, 'an API path such as /v1/responses');
const isoDate = z.iso.datetime({ offset: true });
const count = z.number().int().min(0).nullable();

const epochMs = z.number().min(0);
const timings = z.object({
  receivedAt: epochMs,
  upstreamStartedAt: epochMs.nullable(),
  firstByteAt: epochMs.nullable(),
  finishedAt: epochMs,
  /** The answer was a stream: first byte − received is its time to first token. */
  streamed: z.boolean(),
});
const metadataMap = z.record(z.string(), z.string());
const text = z.string().nullable();
const facts = z.object({
  cachedTokens: count,
  reasoningTokens: count,
  finishReason: text,
  servedServiceTier: text,
  upstreamModel: text,
  metadata: metadataMap.nullable(),
  endUser: text,
});

/**
 * Written by the gateway before it proxies a realtime request. The gateway has already
 * resolved the API key to its owner and checked the model; no key material is in here.
 */
export const createResponsePayload = z.object({
  requestId: id,
  batchId: id,
  body: z.string(),
  model: z.string().min(1),
  endpoint,
  serviceTier: z.enum(SERVICE_TIERS),
  /** Null when the key has no owner: such a request is proxied but not tracked. */
  createdBy: id.nullable(),
  apiKeyId: id.nullable(),
  /** The request this one continues (`previous_response_id`, checked when accepted). */
  previousRequestId: id.nullable().optional(),
  /** false: `store: false` (DESIGN 11): the bodies in here are empty and stay so. */
  store: z.boolean().optional(),
});

/**
 * Written by the gateway after the upstream answered. Carries everything needed to create
 * the row too, because it may run before (or instead of) create-response.
 */
export const completeResponsePayload = createResponsePayload.omit({ body: true }).extend({
  requestBody: z.string(),
  /**
   * Set when the job table refused this record as it was (store/isolate.ts): its bodies are
   * empty and complete-response records it failed, with RecordRejected.
   */
  rejected: z.object({ stage: z.enum(['enqueue', 'store']), code: z.string() }).optional(),
  /** Token counts the gateway measured: with `store: false` there is no body to read them from. */
  usage: z
    .object({ promptTokens: count, completionTokens: count, totalTokens: count })
    .optional(),
  statusCode: z.number().int().min(100).max(599),
  /** The upstream's answer; for a streamed answer, the final object rebuilt from the stream. */
  responseBody: z.string(),
  startedAt: isoDate,
  finishedAt: isoDate,
  /** What the gateway measured (DESIGN 12), epoch milliseconds with sub-millisecond precision. */
  timings: timings.optional(),
  /** The x-volley-metadata header's map (the body's own metadata is read from the body). */
  metadata: metadataMap.nullable().optional(),
  /** store: false: what the worker would read from the bodies, read by the gateway instead. */
  facts: facts.optional(),
});

export const processRequestPayload = z.object({ requestId: id });
/**
 * The sweep carries nothing. pg-boss's cron sends a schedule's data as the job's payload,
 * null when the schedule was made without data (as it was before startSweeper passed `{}`),
 * so null is a valid sweep too: rejecting it dead-lettered every scheduled sweep.
 */
export const sweepPayload = z.object({}).loose().nullable();

export type CreateResponsePayload = z.infer<typeof createResponsePayload>;
export type CompleteResponsePayload = z.infer<typeof completeResponsePayload>;
export type ProcessRequestPayload = z.infer<typeof processRequestPayload>;
export type SweepPayload = z.infer<typeof sweepPayload>;

export const PAYLOADS = {
  [QUEUES.createResponse]: createResponsePayload,
  [QUEUES.completeResponse]: completeResponsePayload,
  [QUEUES.processRequest]: processRequestPayload,
  [QUEUES.sweep]: sweepPayload,
} as const satisfies Record<QueueName, z.ZodType>;

export type PayloadOf<Q extends QueueName> = z.infer<(typeof PAYLOADS)[Q]>;

/**
 * Records per tracking envelope. A pg-boss job costs one insert and two updates of a row
 * with about 17 indexes, several times the cost of the request row it tracks; an envelope
 * of many records pays that once (see README, "Changed from the design").
 */
export const MAX_ENVELOPE_RECORDS = 100;

/**
 * Body text per tracking envelope (the records' string fields, in UTF-16 code units). A
 * record of 10 MB (MAX_BODY_BYTES) is allowed, and the worker holds every job of a fetch at
 * once: by count alone, one fetch of 25 envelopes of 100 such records would be gigabytes.
 * Records are packed up to this size; a record larger than it travels on its own.
 */
export const MAX_ENVELOPE_TEXT = 1024 * 1024;

/** The tracking queues, whose jobs may carry one record or an envelope of records. */
export type TrackingQueue = typeof QUEUES.createResponse | typeof QUEUES.completeResponse;

function envelopeOf<T extends z.ZodType>(record: T) {
  return z.object({ records: z.array(record).min(1).max(MAX_ENVELOPE_RECORDS) });
}

/**
 * A tracking job's payload is either the design's one record or `{ records: [...] }`, the
 * producer's coalesced enqueues. Every record goes through the same handler either way.
 */
export const ENVELOPES: Partial<Record<QueueName, z.ZodType<{ records: unknown[] }>>> = {
  [QUEUES.createResponse]: envelopeOf(createResponsePayload),
  [QUEUES.completeResponse]: envelopeOf(completeResponsePayload),
};

/**
 * Queue options. Retries back off exponentially (pg-boss: retryDelay * 2^n with jitter);
 * expiry sits well above the worst real run time so a slow but live attempt is not retried
 * under itself. Tracking jobs keep retrying for about an hour (a database outage should not
 * lose records); process-request's retries are driven by the request's own deadline
 * (DESIGN 8.1), so its queue-level retries only cover crashes and zombie attempts.
 */
/**
 * A completed tracking job has done its work once its row is written; pg-boss's default
 * keeps it 7 days, which at 1,000 requests/s is over a billion rows of job table. An hour
 * still covers any producer re-send (deterministic ids dedupe only while the first job's
 * row exists), which happens within seconds.
 */
const TRACKING_JOB_RETENTION_SECONDS = 3_600;

/** The sweep threshold REALTIME_STALE_AFTER defaults to (config.ts). */
export const DEFAULT_STALE_AFTER_MS = 15 * 60_000;

/**
 * create-response and complete-response: short jobs, retried with exponential backoff for at
 * most half the sweep threshold. The sweeper fails a realtime row nobody finished after
 * REALTIME_STALE_AFTER; a late record still wins (complete-response overwrites TrackingLost),
 * but the sweep must not fire while complete-response's own retries are still going (DESIGN
 * 13), so their horizon is fitted inside the threshold: a stuck attempt's expiry plus every
 * backoff delay. At the default 15 minutes that is 9 retries over ~5 minutes plus a 2-minute
 * expiry; at the smallest threshold accepted (30 s), 3 retries and a 20-second expiry.
 */
export function trackingQueuePolicy(staleAfterMs: number): Omit<Queue, 'name'> {
  const staleS = staleAfterMs / 1_000;
  const expireInSeconds = Math.round(Math.min(120, Math.max(20, staleS / 6)));
  const retryDelayMax = Math.max(1, Math.min(300, Math.floor(staleS / 10)));
  let retryLimit = 0;
  while (retryLimit < 12 && trackingHorizonSeconds(retryLimit + 1, retryDelayMax, expireInSeconds) <= staleS / 2) retryLimit++;
  return {
    retryLimit,
    retryDelay: 1,
    retryBackoff: true,
    retryDelayMax,
    expireInSeconds,
    deleteAfterSeconds: TRACKING_JOB_RETENTION_SECONDS,
    notify: true,
  };
}

/** Seconds from a tracking job's first attempt until its last retry has started, at worst. */
function trackingHorizonSeconds(retries: number, delayMax: number, expireIn: number): number {
  let total = expireIn;
  for (let k = 0; k < retries; k++) total += Math.min(2 ** k, delayMax);
  return total;
}

/** complete-response's retry horizon for a policy, in milliseconds (tests, and the config check). */
export function trackingRetryHorizonMs(policy: Omit<Queue, 'name'>): number {
  return trackingHorizonSeconds(policy.retryLimit ?? 0, policy.retryDelayMax ?? 1, policy.expireInSeconds ?? 0) * 1_000;
}

/** Every queue's options, for the deployment's sweep threshold. */
export function queueOptions(staleAfterMs: number = DEFAULT_STALE_AFTER_MS): Record<QueueName, Omit<Queue, 'name'>> {
  const tracking = trackingQueuePolicy(staleAfterMs);
  return {
    [QUEUES.createResponse]: { ...tracking, deadLetter: deadLetterQueue(QUEUES.createResponse) },
    [QUEUES.completeResponse]: { ...tracking, deadLetter: deadLetterQueue(QUEUES.completeResponse) },
    [QUEUES.processRequest]: {
      retryLimit: 20,
      retryDelay: 1,
      retryBackoff: true,
      retryDelayMax: 60,
      // Upstream calls can take minutes (UPSTREAM_TIMEOUT_MS defaults to 10 minutes).
      expireInSeconds: 15 * 60,
      // A flex process that dies mid-call (SIGKILL, OOM) is noticed within about this long and
      // its job handed to another process; pg-boss refreshes the heartbeat while the handler runs.
      heartbeatSeconds: 10,
      notify: true,
      deadLetter: deadLetterQueue(QUEUES.processRequest),
    },
    [QUEUES.sweep]: {
      retryLimit: 1,
      expireInSeconds: 300,
      deadLetter: deadLetterQueue(QUEUES.sweep),
    },
  };
}

/** The options at the default threshold; process-request's and sweep's never depend on it. */
export const QUEUE_OPTIONS = queueOptions();

/** Dead-letter queues keep their jobs for inspection (and redrive) for 30 days. */
export const DEAD_LETTER_OPTIONS: Omit<Queue, 'name'> = {
  retentionSeconds: 30 * 86_400,
  deleteAfterSeconds: 30 * 86_400,
};

/** Priorities for process-request: realtime background work runs before flex work. */
export const PRIORITY = Object.freeze({ background: 10, flex: 0 } as const);
