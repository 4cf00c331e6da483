import { pino, type DestinationStream, type Logger } from 'pino';
import { safeError } from './lib/safe-error.ts';

export type { Logger };

/**
 * A root logger (entry points make one from LOG_LEVEL): JSON lines on stdout, or on
 * `destination`. Child loggers carry ids (component, queue, jobId, requestId). Log ids,
 * sizes, statuses and durations, never prompts, outputs or keys; errors are logged as
 * `{ err }` and serialized without their data (lib/safe-error.ts); the redact list is a
 * second line of defence for headers that slip into a log object.
 */
export function createLogger(level: string = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'volley' },
    // Every error logged as `err` (the convention throughout) goes through safeError: its
    // kind and codes, never the data of a failed statement.
    serializers: { err: safeError, error: safeError },
    redact: {
      paths: ['authorization', 'headers.authorization', 'req.headers.authorization', '*.apiKey', 'apiKey', 'key', 'secret'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

