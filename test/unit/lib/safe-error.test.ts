import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { safeError } from '../../../src/lib/safe-error.ts';
import { createLogger } from '../../../src/logger.ts';

const SECRET = 'the-prompt-nobody-may-log';

/** A PostgreSQL error as pg builds it, with the row in its detail. */
function pgError(): Error {
  const err = new Error(`invalid input syntax for type integer: "${SECRET}"`) as Error & Record<string, unknown>;
  Object.assign(err, {
    name: 'error',
    code: '22P02',
    severity: 'ERROR',
    detail: `Failing row contains (${SECRET}).`,
    where: `SQL statement with ${SECRET}`,
    internalQuery: `SELECT '${SECRET}'`,
    routine: 'pg_strtoint32_safe',
    table: 'requests',
  });
  return err;
}

describe('errors in log lines', () => {
  it("keep a database error's kind and codes, not its data", () => {
    const safe = safeError(pgError());
    expect(safe).toMatchObject({ code: '22P02', severity: 'ERROR', routine: 'pg_strtoint32_safe', table: 'requests' });
    expect(JSON.stringify(safe)).not.toContain(SECRET);
  });

  it("drop drizzle's statement and parameters from the message and the stack", () => {
    const wrapped = new DrizzleQueryError('INSERT INTO requests (body) VALUES ($1)', [SECRET], pgError());
    const safe = safeError(wrapped);
    expect(safe.message).toBe('Failed query (its statement and parameters are not logged)');
    expect(safe.cause?.code).toBe('22P02');
    expect(JSON.stringify(safe)).not.toContain(SECRET);
    expect(JSON.stringify(safe)).not.toContain('INSERT INTO');
  });

  it('are serialized so by the logger, for `err` and `error`', () => {
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => void lines.push(line) });
    log.error({ err: new DrizzleQueryError('SELECT $1', [SECRET], pgError()) }, 'failed');
    log.warn({ error: pgError() }, 'failed too');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain(SECRET);
    expect(JSON.parse(lines[0]!).err.cause.code).toBe('22P02');
  });
});
