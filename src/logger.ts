import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * A root logger (entry points make one from LOG_LEVEL): JSON lines on stdout, or on
 * `destination`. Child loggers carry ids (component, queue, jobId, requestId). Log ids,
 * sizes, statuses and durations, never prompts, outputs or keys; the redact list is a
 * second line of defence for headers that slip into a log object.
 */
export function createLogger(level: string = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'volley' },
    redact: {
      paths: ['authorization', 'headers.authorization', 'req.headers.authorization', '*.apiKey', 'apiKey', 'key', 'secret'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

