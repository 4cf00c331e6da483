/**
 * How an error is written to a log line: its kind, codes and where it was thrown, never the
 * data it was about. Database errors carry the data in several places: PostgreSQL's `detail`
 * ("Failing row contains (…)", with the prompt in it), `where` and `internalQuery`, values
 * quoted in some messages (`invalid input syntax for type uuid: "…"`), and drizzle's wrapper
 * puts the whole statement and its parameters (the bodies) in its message and stack. None
 * of those is kept (DESIGN 13: no prompt, output or key in a log line).
 */
export interface SafeError {
  type: string;
  message: string;
  code?: string;
  severity?: string;
  routine?: string;
  /** Identifiers, not data: which table, column or constraint refused the row. */
  table?: string;
  column?: string;
  constraint?: string;
  /** The frames only (the stack's first line repeats the message). */
  stack?: string;
  cause?: SafeError;
}

const MAX_MESSAGE = 300;
const MAX_DEPTH = 4;

export function safeError(err: unknown, depth = 0): SafeError {
  if (!(err instanceof Error)) return { type: typeof err, message: '(a non-Error value was thrown; not logged)' };
  const e = err as Error & Record<string, unknown>;
  const out: SafeError = { type: err.name, message: scrubMessage(err.message) };
  for (const field of ['code', 'severity', 'routine', 'table', 'column', 'constraint'] as const) {
    const value = e[field];
    if (typeof value === 'string' || typeof value === 'number') out[field] = String(value);
  }
  if (typeof err.stack === 'string') {
    const frames = err.stack.split('\n').filter((line) => line.startsWith('    at '));
    if (frames.length > 0) out.stack = frames.slice(0, 12).join('\n');
  }
  if (err.cause !== undefined && err.cause !== err && depth < MAX_DEPTH) out.cause = safeError(err.cause, depth + 1);
  if (err instanceof AggregateError && depth < MAX_DEPTH) {
    const first = err.errors[0];
    if (first !== undefined && out.cause === undefined) out.cause = safeError(first, depth + 1);
  }
  return out;
}

/** A message without the data some messages quote. */
export function scrubMessage(message: string): string {
  // drizzle's DrizzleQueryError: "Failed query: <sql>\nparams: <values>".
  if (message.startsWith('Failed query:')) return 'Failed query (its statement and parameters are not logged)';
  return message
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .slice(0, MAX_MESSAGE);
}
