// What PostgreSQL will store of values we did not make (DESIGN 13: one bad record never costs
// another). A raw NUL byte cannot be stored in a text column nor in jsonb (the job table's
// payloads), and a token count above int4 cannot be stored in the usage columns: such values
// are sanitised and clamped here, before they reach a statement they would fail for every
// record that shares it. Pure: no I/O.

/** The largest count an int4 column holds. */
export const MAX_INT4 = 2_147_483_647;

/** `text` with every NUL character replaced by U+FFFD, the Unicode replacement character. */
export function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** `storableText` of a nullable value. */
export function storableTextOrNull(text: string | null): string | null {
  return text === null ? null : storableText(text);
}

/** A count clamped to what an int4 column holds (non-negative integers only; else null). */
export function storableCount(value: unknown): number | null {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) return null;
  return Math.min(value, MAX_INT4);
}

/**
 * A copy of a record whose string fields are storable: the job table keeps payloads as
 * jsonb, which refuses a NUL character anywhere in them.
 */
export function storableRecord<T extends object>(record: T): T {
  let changed: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'string' && value.includes('\u0000')) {
      changed ??= { ...(record as Record<string, unknown>) };
      changed[key] = storableText(value);
    }
  }
  return (changed ?? record) as T;
}
