// What one fault repetition showed: every client record held against the rows and the
// upstream's call log. Pure: no I/O (verify.ts reads the rows).
import { PROCESSOR_KINDS, type ClientRecord } from './client.ts';
import { isOk } from './load.ts';
import { comparableText } from './text.ts';
import { answeredOk, isPoison, type CallOutcome } from './upstream-faults.ts';

export interface RowInfo {
  id: string;
  state: string;
  nonce: string | undefined;
  /** The answer text of the stored response body, if it has one. */
  text: string | undefined;
  hasError: boolean;
  /** The FailureReason's `type` (TrackingLost, NonRetriableHttpStatus, …) on failed rows. */
  errorType: string | undefined;
}

export interface FaultTimes {
  /** Epoch ms: the fault began / ended (the killed role was started again, the server was back, …). */
  start: number;
  end: number;
}

export interface ClassifyInput {
  records: readonly ClientRecord[];
  rows: readonly RowInfo[];
  callsFor(nonce: string): readonly { outcome: CallOutcome }[];
  times: FaultTimes;
  /** When the load stopped sending. */
  loadEnd: number;
  /**
   * When the web role was killed, in a fault that kills it: with DURABILITY=fast, a request
   * answered just before that may lose its completion record (it was still lingering), the
   * loss volley documents for fast; such requests are counted apart (lostInWindow).
   */
  webKilledAt?: number;
}

/**
 * How long before a kill of the web role an answered request may lose its completion with
 * DURABILITY=fast: the README's window is the 25 ms linger plus one insert; the harness sees
 * an answer when it has read it and kills a moment later, hence the margin.
 */
export const FAST_LOSS_WINDOW_MS = 250;

export interface Metrics {
  sent: number;
  ok: number;
  lost: number;
  wrong: number;
  /** Answered within FAST_LOSS_WINDOW_MS before a web kill and left processing or TrackingLost: fast's documented loss. */
  lostInWindow: number;
  duplicated: number;
  /** Realtime requests answered 2xx whose upstream answered more than once. */
  upstreamRepeats: number;
  /** Background/flex: upstream calls beyond the first (any cause). */
  bgRetries: number;
  /** Background/flex: upstream 2xx answers beyond the first (the work was done twice). */
  bgRepeatsAfterSuccess: number;
  bgAccepted: number;
  bgNotTerminal: number;
  /** Client statuses of requests started while the fault lasted (until recovery). */
  statuses: Record<string, number>;
  /** From the fault's end until requests succeed again; null when they never did. */
  recoveryMs: number | null;
  poisoned: { requests: number; completed: number; failedWithReason: number };
  /** Of the lost and wrong: requests that started before the fault began (answered before a kill, or left over from an earlier fault). */
  beforeFault: { lost: number; wrong: number };
  /** A request started after the fault's end that needed the role succeeded (undefined: none sent). */
  served: { web: boolean; worker: boolean | undefined; flex: boolean | undefined };
  reasons: { lost: Record<string, number>; wrong: Record<string, number> };
  /** The SDK's logical requests (client-retries): how many, answered 2xx, retried, with more than one row. */
  sdk: { logical: number; ok: number; retried: number; duplicated: number };
  /** Per kind: requests, 2xx, and ms to the first answer (p50, p99, max). */
  kinds: Record<string, { n: number; ok: number; p50: number; p99: number; max: number }>;
  /** Up to 5 response ids (or nonces) per finding, to look at. */
  examples: Record<string, string[]>;
}

const TERMINAL = new Set(['completed', 'failed', 'canceled']);

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** The histogram label of a client outcome: the status, `200-cut` for a cut stream, `ERR:<code>` without an answer. */
export function statusLabel(rec: ClientRecord): string {
  if (rec.status === 0) return `ERR:${rec.error ?? '?'}`;
  if (rec.status < 300 && !rec.complete) return `${rec.status}-cut`;
  return String(rec.status);
}

/** Classifies every record of a repetition against the rows and the upstream calls. */
export function classify(input: ClassifyInput): Metrics {
  const byId = new Map(input.rows.map((r) => [r.id, r]));
  const rowsPerNonce = new Map<string, number>();
  for (const r of input.rows) if (r.nonce !== undefined) rowsPerNonce.set(r.nonce, (rowsPerNonce.get(r.nonce) ?? 0) + 1);
  const m: Metrics = {
    sent: input.records.length,
    ok: 0,
    lost: 0,
    wrong: 0,
    lostInWindow: 0,
    duplicated: 0,
    upstreamRepeats: 0,
    bgRetries: 0,
    bgRepeatsAfterSuccess: 0,
    bgAccepted: 0,
    bgNotTerminal: 0,
    statuses: {},
    recoveryMs: recovery(input),
    poisoned: { requests: 0, completed: 0, failedWithReason: 0 },
    beforeFault: { lost: 0, wrong: 0 },
    served: { web: false, worker: undefined, flex: undefined },
    reasons: { lost: {}, wrong: {} },
    kinds: kindStats(input.records),
    sdk: { logical: 0, ok: 0, retried: 0, duplicated: 0 },
    examples: {},
  };
  const example = (finding: string, what: string): void => {
    const list = (m.examples[finding] ??= []);
    if (list.length < 5) list.push(what);
  };
  const duringUntil = input.times.end + (m.recoveryMs ?? 0);

  for (const rec of input.records) {
    if (rec.startedAt >= input.times.start && rec.startedAt <= duringUntil) bump(m.statuses, statusLabel(rec));
    const ok = isOk(rec);
    const processor = PROCESSOR_KINDS.has(rec.kind);
    const uuid = rec.responseId?.startsWith('resp_') ? rec.responseId.slice(5) : undefined;
    const row = uuid === undefined ? undefined : byId.get(uuid);
    const calls = input.callsFor(rec.nonce);
    const poisoned = calls.some((c) => isPoison(c.outcome));
    const okCalls = calls.filter((c) => answeredOk(c.outcome)).length;
    const poison = calls.find((c) => isPoison(c.outcome))?.outcome;
    const early = rec.startedAt < input.times.start;
    const label = `${rec.kind}${poison !== undefined ? `/${poison}` : ''} ${rec.responseId ?? rec.nonce}`;
    const terminal = row !== undefined && TERMINAL.has(row.state);

    if (processor && rec.responseId !== undefined) {
      m.bgAccepted++;
      m.bgRetries += Math.max(0, calls.length - 1);
      m.bgRepeatsAfterSuccess += Math.max(0, okCalls - 1);
      if (okCalls > 1) example('bg-repeat-after-success', label);
      if (!terminal && !(ok && row === undefined)) {
        m.bgNotTerminal++;
        example('bg-not-terminal', `${label} (${row?.state ?? 'no row'})`);
      }
    }
    if (rec.startedAt >= input.times.end && ok) {
      m.served.web = true;
      const completed = row?.state === 'completed';
      if (processor) m.served.flex = (m.served.flex ?? false) || completed;
      else m.served.worker = (m.served.worker ?? false) || completed;
    }
    const sdk = rec.kind.startsWith('sdk-');
    if (sdk) {
      m.sdk.logical++;
      if ((rec.attempts?.length ?? 0) > 1) m.sdk.retried++;
    }
    if (!ok) continue;

    m.ok++;
    if (sdk) m.sdk.ok++;
    if ((rowsPerNonce.get(rec.nonce) ?? 0) > 1) {
      m.duplicated++;
      if (sdk) m.sdk.duplicated++;
      example('duplicated', `${rec.kind} ${rec.nonce} (${rowsPerNonce.get(rec.nonce)} rows, attempts ${JSON.stringify(rec.attempts ?? [])})`);
    }
    if (!processor && okCalls > 1) {
      m.upstreamRepeats += okCalls - 1;
      example('upstream-repeat', `${label} (${okCalls} answers)`);
    }
    if (poisoned) m.poisoned.requests++;
    const killedAt = input.webKilledAt;
    const lingering =
      !processor && killedAt !== undefined && rec.answeredAt <= killedAt && killedAt - rec.answeredAt <= FAST_LOSS_WINDOW_MS;
    if (lingering && (row === undefined || row.state === 'processing' || (row.state === 'failed' && row.errorType === 'TrackingLost'))) {
      m.lostInWindow++;
      example('lost-in-fast-window', `${label} (${row?.state ?? 'no row'}, answered ${killedAt - rec.answeredAt} ms before the kill)`);
      continue;
    }
    if (row === undefined) {
      m.lost++;
      if (early) m.beforeFault.lost++;
      bump(m.reasons.lost, uuid === undefined ? 'no response id' : 'no row');
      example('lost', label);
      continue;
    }
    if (!terminal) {
      if (processor) continue; // counted in bgNotTerminal
      m.lost++;
      if (early) m.beforeFault.lost++;
      bump(m.reasons.lost, `still ${row.state}`);
      const kill = killedAt === undefined ? '' : `, answered ${killedAt - rec.answeredAt} ms before the web kill`;
      example('lost', `${label} (${row.state}${kill})`);
      continue;
    }
    const why = wrongness(rec, row, poisoned);
    if (poisoned && why === undefined) {
      if (row.state === 'completed') m.poisoned.completed++;
      else m.poisoned.failedWithReason++;
    }
    if (why !== undefined) {
      m.wrong++;
      if (early) m.beforeFault.wrong++;
      bump(m.reasons.wrong, why);
      const texts = why === 'stored text differs' ? `: client ${JSON.stringify(rec.text?.slice(0, 80))} stored ${JSON.stringify(row.text?.slice(0, 80))}` : '';
      example('wrong', `${label} (${why})${texts}`);
    }
  }
  return m;
}

function kindStats(records: readonly ClientRecord[]): Metrics['kinds'] {
  const by = new Map<string, { ok: number; ms: number[] }>();
  for (const r of records) {
    const k = by.get(r.kind) ?? { ok: 0, ms: [] };
    by.set(r.kind, k);
    if (isOk(r)) k.ok++;
    k.ms.push(r.answeredAt - r.startedAt);
  }
  const q = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  return Object.fromEntries(
    [...by].map(([kind, k]) => {
      const sorted = k.ms.sort((a, b) => a - b);
      return [kind, { n: sorted.length, ok: k.ok, p50: q(sorted, 50), p99: q(sorted, 99), max: sorted.at(-1) ?? 0 }];
    }),
  );
}

/**
 * Why a terminal row does not match what its client got, or undefined. A poisoned answer may
 * also be recorded as `failed` with its reason (DESIGN 13: "or failed with its reason").
 */
function wrongness(rec: ClientRecord, row: RowInfo, poisoned: boolean): string | undefined {
  if (row.state !== 'completed') {
    if (poisoned && row.state === 'failed' && row.hasError) return undefined;
    return `row ${row.state}${row.errorType !== undefined ? ` (${row.errorType})` : ''}`;
  }
  // A background client that never saw the final object has nothing to compare.
  const clientText = rec.text;
  if (clientText === undefined) return PROCESSOR_KINDS.has(rec.kind) ? undefined : 'client got no text';
  if (row.text === undefined) return 'no stored answer text';
  return comparableText(row.text) === comparableText(clientText) ? undefined : 'stored text differs';
}

/**
 * From the fault's end to the start of the first successful request after the last failed
 * one that started during or after the fault (0 when nothing failed, null when nothing
 * succeeded after the last failure). SDK requests are left out: their retries blur it.
 */
function recovery(input: ClassifyInput): number | null {
  let lastFailure = -Infinity;
  const steady = input.records.filter((r) => !r.kind.startsWith('sdk-') && r.startedAt >= input.times.start && r.startedAt <= input.loadEnd);
  for (const r of steady) if (!isOk(r) && r.startedAt > lastFailure) lastFailure = r.startedAt;
  if (lastFailure === -Infinity) return 0;
  let firstOk = Infinity;
  for (const r of steady) if (isOk(r) && r.startedAt > lastFailure && r.startedAt < firstOk) firstOk = r.startedAt;
  if (firstOk === Infinity) return null;
  return Math.max(0, firstOk - input.times.end);
}
