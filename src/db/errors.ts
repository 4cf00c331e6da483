/**
 * Errors PostgreSQL raises about the values of a statement, not about the database: a data
 * exception (class 22: out of range, bad encoding, invalid text), an integrity violation
 * (class 23: a CHECK, a NOT NULL), or a program limit (class 54: a value too large). Retrying
 * the same values fails the same way; a batch writer that gets one writes its records one
 * by one to find the culprit, and records that one as well as it can (DESIGN 13).
 */
export function isRecordRejection(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && /^(22|23|54)/.test(code);
}

/** The SQLSTATE of a database error, looking through wrappers (drizzle puts it in `cause`). */
export function sqlState(err: unknown, depth = 0): string | undefined {
  if (!(err instanceof Error) || depth > 4) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  return sqlState(err.cause, depth + 1);
}
