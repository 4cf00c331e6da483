// Small helpers for reading JSON we did not write ourselves (upstream bodies, legacy rows).

/**
 * JSON.parse that answers undefined instead of throwing. Text with raw control characters
 * in it (a model server that sent a NUL byte inside a string, say: JSON forbids it, clients
 * let it pass) is read as if they had been escaped, so such an answer is recorded as the
 * client got it rather than dropped.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (!RAW_CONTROL.test(text)) return undefined;
    try {
      return JSON.parse(text.replace(RAW_CONTROL_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)) as unknown;
    } catch {
      return undefined;
    }
  }
}

// Control characters JSON forbids inside strings; tab, LF and CR are whitespace outside them.
const RAW_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
const RAW_CONTROL_ALL = new RegExp(RAW_CONTROL.source, 'g');

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
