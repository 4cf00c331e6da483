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
export function paramPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The first zod issue as an Invalid whose param is the issue's path under `prefix`. */
export function fromZodError(error: z.ZodError, prefix = ''): Invalid {
  const issue = error.issues[0];
  if (issue === undefined) return invalid(prefix || 'body', 'Invalid value.');
  const param = paramPath(issue.path, prefix) || 'body';
  return invalid(param, `Invalid '${param}': ${issue.message}`);
}
