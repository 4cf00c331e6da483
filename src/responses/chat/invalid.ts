// A request the translation cannot express, as a value: the gateway turns it into a 400 with
// the OpenAI error envelope (`param` names the offending field the way the platform does:
// `input[2].content[0].image_url`).
import type { z } from 'zod';

export interface Invalid {
  ok: false;
  param: string;
  message: string;
}

export function invalid(param: string, message: string): Invalid {
  return { ok: false, param, message };
}

/** `['input', 2, 'content']` → `input[2].content`; a prefix is prepended the same way. */
function paramPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Parses `value` with `schema`; on failure, the first issue as an Invalid whose param is the
 * issue's path under `prefix`, worded like the platform's own errors.
 */
export function parseOr<T extends z.ZodType>(schema: T, value: unknown, prefix = ''): { ok: true; data: z.output<T> } | Invalid {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  const param = paramPath(issue?.path ?? [], prefix) || 'body';
  if (issue === undefined) return invalid(param, `Invalid '${param}'.`);
  if (issue.code === 'invalid_type' && issue.input === undefined) return invalid(param, `Missing required parameter: '${param}'.`);
  return invalid(param, `Invalid '${param}': ${issue.message.replace(/^Invalid input: /, '')}.`);
}
