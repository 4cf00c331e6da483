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
