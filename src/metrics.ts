import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics for every role: the gateway serves them at GET /metrics, the worker and
 * flex roles on METRICS_PORT (metrics-server.ts). One registry per process; modules
 * increment the exported metrics, nothing here does I/O.
 */
export const registry = new Registry();

/** HTTP requests answered by the gateway, by route pattern (not raw path) and status. */
export const httpRequests = new Counter({
  name: 'volley_http_requests_total',
  help: 'HTTP requests answered by the gateway',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

// Buckets from 0.5 ms: the gateway's own overhead target is about 1 ms; model calls take minutes.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export const httpDuration = new Histogram({
  name: 'volley_http_request_duration_seconds',
  help: 'Time from request to the end of the response, by route and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** Time until the upstream's response headers arrived, by endpoint and upstream status. */
export const upstreamDuration = new Histogram({
  name: 'volley_upstream_headers_seconds',
  help: 'Time from sending a request upstream until its response headers arrived',
  labelNames: ['endpoint', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** Settled jobs by queue and outcome (completed, failed, deadletter). The job runner increments it. */
export const jobOutcomes = new Counter({
  name: 'volley_job_outcomes_total',
  help: 'Jobs settled, by queue and outcome; an envelope of tracking records counts each record',
  labelNames: ['queue', 'outcome'] as const,
  registers: [registry],
});


/** Failed attempts to enqueue a tracking job from the gateway (each is retried in process). */
export const trackingEnqueueErrors = new Counter({
  name: 'volley_tracking_enqueue_errors_total',
  help: 'Failed attempts to enqueue create-response/complete-response from the gateway',
  labelNames: ['queue'] as const,
  registers: [registry],
});

/** complete-response jobs the gateway has yet to store (retrying or in flight). */
export const trackingPending = new Gauge({
  name: 'volley_tracking_pending',
  help: 'complete-response enqueues not yet durably stored',
  registers: [registry],
});

/**
 * Realtime requests held until their record is committed: before the reply with
 * DURABILITY=fast, before the upstream call with strict. Non-zero for long means the
 * database is slow to take writes.
 */
export const recordWaits = new Gauge({
  name: 'volley_requests_waiting_for_record',
  help: 'Realtime requests held until their create-response record is committed',
  registers: [registry],
});

/** Realtime requests this gateway holds until their completion is stored (their rows are kept from the sweeper). */
export const heldRequests = new Gauge({
  name: 'volley_realtime_requests_held',
  help: 'Realtime requests held by this gateway from their record until their completion is stored',
  registers: [registry],
});

let pollerWaitersSource: (() => number) | undefined;

/** Requests a blocking flex call is waiting on in this process. */
export const pollerWaiters = new Gauge({
  name: 'volley_poller_waiters',
  help: 'Requests awaited by blocking flex calls in this process',
  registers: [registry],
  collect() {
    if (pollerWaitersSource) this.set(pollerWaitersSource());
  },
});

/** Makes the waiters gauge read `count` at scrape time (instead of inc/dec by the poller). */
export function observePollerWaiters(count: () => number): void {
  pollerWaitersSource = count;
}

let defaultsOn = false;

/** Process metrics (CPU, RSS, event loop lag, GC). Entry points call it once. */
export function enableProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: 'volley_' });
}

// GenAI metrics in OpenTelemetry's semantic conventions (gen_ai.client.token.usage,
// gen_ai.server.time_to_first_token, gen_ai.server.request.duration), in Prometheus form:
// observed by whoever writes a request's terminal record (the worker for realtime requests,
// the request processor for background and flex ones), once per record written.
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];

export const genAiTokenUsage = new Histogram({
  name: 'gen_ai_client_token_usage',
  help: 'Tokens per request, by model and token type (input, output)',
  labelNames: ['gen_ai_request_model', 'gen_ai_operation_name', 'gen_ai_token_type'] as const,
  buckets: TOKEN_BUCKETS,
  registers: [registry],
});

export const genAiTimeToFirstToken = new Histogram({
  name: 'gen_ai_server_time_to_first_token_seconds',
  help: 'Time from receiving a streamed request to its first chunk of answer, by model',
  labelNames: ['gen_ai_request_model', 'gen_ai_operation_name'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const genAiRequestDuration = new Histogram({
  name: 'gen_ai_server_request_duration_seconds',
  help: 'Time from receiving a request to the end of its answer, by model and status',
  labelNames: ['gen_ai_request_model', 'gen_ai_operation_name', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** Answer sent (the gateway's finish) → its record committed (the worker's write). */
export const trackingLag = new Histogram({
  name: 'volley_tracking_lag_seconds',
  help: 'Time from an answer leaving the gateway to its completion record being committed',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});

/** What a written terminal record reports to the GenAI metrics. */
export interface RecordMetrics {
  model: string;
  endpoint: string;
  status: 'completed' | 'failed';
  inputTokens: number | null;
  outputTokens: number | null;
  durationMs: number | null;
  ttftMs: number | null;
}

const OPERATION: Record<string, string> = {
  '/v1/chat/completions': 'chat',
  '/v1/responses': 'responses',
  '/v1/embeddings': 'embeddings',
};

export function observeRecord(r: RecordMetrics): void {
  const op = OPERATION[r.endpoint] ?? 'other';
  const model = r.model.slice(0, 100);
  if (r.inputTokens !== null) genAiTokenUsage.observe({ gen_ai_request_model: model, gen_ai_operation_name: op, gen_ai_token_type: 'input' }, r.inputTokens);
  if (r.outputTokens !== null) genAiTokenUsage.observe({ gen_ai_request_model: model, gen_ai_operation_name: op, gen_ai_token_type: 'output' }, r.outputTokens);
  if (r.ttftMs !== null) genAiTimeToFirstToken.observe({ gen_ai_request_model: model, gen_ai_operation_name: op }, r.ttftMs / 1000);
  if (r.durationMs !== null) genAiRequestDuration.observe({ gen_ai_request_model: model, gen_ai_operation_name: op, status: r.status }, r.durationMs / 1000);
}

/** Jobs waiting and running per queue, read at scrape time by the worker role (queueDepths). */
export const queueDepth = new Gauge({
  name: 'volley_queue_depth',
  help: 'Jobs per queue and state (queued: waiting or deferred, active: running)',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    if (!queueDepthSource) return;
    try {
      for (const q of await queueDepthSource()) {
        this.set({ queue: q.queue, state: 'queued' }, q.queued);
        this.set({ queue: q.queue, state: 'active' }, q.active);
      }
    } catch {
      // A scrape during a database outage shows the last values.
    }
  },
});

let queueDepthSource: (() => Promise<{ queue: string; queued: number; active: number }[]>) | undefined;

/** Makes the queue-depth gauge read `source` at scrape time. */
export function observeQueueDepths(source: () => Promise<{ queue: string; queued: number; active: number }[]>): void {
  queueDepthSource = source;
}
