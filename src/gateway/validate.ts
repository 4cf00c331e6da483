import type { z } from 'zod';
import { Validation } from '../errors.ts';

/** `value` parsed by `schema`, or the 400 Validation error naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new Validation(`Invalid request: ${issues.map((i) => `${i.path || where}: ${i.message}`).join('; ')}`, issues);
}
