/**
 * Typed errors. Callers branch on `instanceof` or `code`, never on message text.
 * `retryable` tells the job runner whether a failure is worth another attempt.
 */
export class AppError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? true;
  }
}

export class RequestNotFound extends AppError {
  readonly requestId: string;
  constructor(requestId: string) {
    super('request_not_found', `request ${requestId} does not exist`, { retryable: false });
    this.requestId = requestId;
  }
}

export class RequestStateConflict extends AppError {
  readonly requestId: string;
  readonly current: string;
  constructor(requestId: string, current: string) {
    super('request_state_conflict', `request ${requestId} is already ${current}`, { retryable: false });
    this.requestId = requestId;
    this.current = current;
  }
}

export class InvalidResponseId extends AppError {
  readonly value: string;
  constructor(value: string) {
    super('invalid_response_id', `'${value.slice(0, 80)}' is not a response id (expected resp_<uuid>)`, {
      retryable: false,
    });
    this.value = value;
  }
}

/** Input that failed a schema: an HTTP body, an env variable, a job payload. Never retried. */
export class Validation extends AppError {
  readonly issues: readonly { path: string; message: string }[];
  constructor(message: string, issues: readonly { path: string; message: string }[] = []) {
    super('validation', message, { retryable: false });
    this.issues = issues;
  }
}

/** The poller gave up waiting; the request itself keeps running. */
export class WaitTimeout extends AppError {
  readonly requestId: string;
  readonly timeoutMs: number;
  constructor(requestId: string, timeoutMs: number) {
    super('wait_timeout', `request ${requestId} did not finish within ${timeoutMs} ms`, { retryable: false });
    this.requestId = requestId;
    this.timeoutMs = timeoutMs;
  }
}

/** A process already holds as many waits as it may (memory is bounded); the caller answers 503. */
export class TooManyWaiters extends AppError {
  readonly limit: number;
  constructor(limit: number) {
    super('too_many_waiters', `this process already holds ${limit} waits`, { retryable: true });
    this.limit = limit;
  }
}
