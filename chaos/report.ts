// The verdict and the table: PASS/FAIL per fault repetition against the issue's "must
// show" rules, a stdout table per fault with totals, and the JSON of the whole run.
import type { FaultStep } from './faults.ts';
import { ROLE_NAMES } from './roles.ts';
import type { SegmentResult } from './segment.ts';

export interface Verdict {
  pass: boolean;
  failures: string[];
}

/** The "must show" rules for one repetition. */
export function judge(step: FaultStep, seg: SegmentResult): Verdict {
  const m = seg.metrics;
  const failures: string[] = [];
  if (seg.error !== undefined) failures.push(`fault step failed: ${seg.error}`);
  if (m.ok === 0) failures.push('no request answered 2xx');
  if (m.lost > 0) failures.push(`${m.lost} answered but lost (${describe(m.reasons.lost)})`);
  if (m.wrong > 0) failures.push(`${m.wrong} answered but recorded wrong (${describe(m.reasons.wrong)})`);
  if (m.lostInWindow > 0 && process.env.DURABILITY === 'strict') {
    failures.push(`${m.lostInWindow} answered just before the web kill lost their record (DURABILITY=strict promises none)`);
  }
  if (m.duplicated > 0) failures.push(`${m.duplicated} logical requests with more than one row`);
  if (m.bgNotTerminal > 0) failures.push(`${m.bgNotTerminal} accepted background/flex requests not terminal`);
  if (m.upstreamRepeats > 0) failures.push(`${m.upstreamRepeats} repeated upstream answers for answered realtime requests`);
  if (m.bgRepeatsAfterSuccess > 0 && step.processorCrash !== true) {
    failures.push(`${m.bgRepeatsAfterSuccess} background/flex upstream calls made again after the upstream had answered, with no crash in this fault`);
  }
  if (m.recoveryMs === null) failures.push('requests did not succeed again after the fault');
  for (const role of ROLE_NAMES) {
    const r = seg.roles[role];
    if (r.unexpectedExits > 0) failures.push(`${role} exited on its own ${r.unexpectedExits}×`);
    else if (!r.restartedByFault && r.pidBefore !== r.pidAfter) failures.push(`${role} is not the same process`);
    if (r.served === false) failures.push(`${role} did not serve after the fault`);
  }
  return { pass: failures.length === 0, failures };
}

function describe(reasons: Record<string, number>): string {
  return Object.entries(reasons)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
}

/** The `roles` column: per role ✓, ↻, ✗exit, ✗idle or ? (see README.md). */
export function rolesCell(seg: SegmentResult): string {
  return ROLE_NAMES.map((role) => {
    const r = seg.roles[role];
    let mark: string;
    if (r.unexpectedExits > 0 || (!r.restartedByFault && r.pidBefore !== r.pidAfter)) mark = '✗exit';
    else if (r.served === false) mark = '✗idle';
    else if (r.restartedByFault) mark = '↻';
    else if (r.served === undefined) mark = '?';
    else mark = '✓';
    return `${role}${mark}`;
  }).join(' ');
}

/** `status:count` pairs, most frequent first. */
export function statusesCell(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .sort((a, b) => b[1] - a[1])
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
}

const COLUMNS = ['fault', 'rep', 'sent', '2xx', 'lost', 'wrong', 'dup', 'up-rep', 'bg-retry', 'bg-open', 'recovery', 'roles', 'result'] as const;
const WIDTHS = [32, 5, 6, 6, 5, 6, 5, 7, 9, 8, 10, 22, 6];

function line(cells: readonly string[]): string {
  return cells.map((c, i) => (i === 0 || i === 11 ? c.padEnd(WIDTHS[i]!) : c.padStart(WIDTHS[i]!))).join(' ');
}

export interface FaultSummary {
  fault: string;
  summary: string;
  skipped?: string;
  pass: boolean;
  repetitions: { segment: SegmentResult; verdict: Verdict }[];
  totals: Record<'sent' | 'ok' | 'lost' | 'lostInWindow' | 'wrong' | 'duplicated' | 'upstreamRepeats' | 'bgRetries' | 'bgRepeatsAfterSuccess' | 'bgNotTerminal', number> & {
    maxRecoveryMs: number | null;
  };
}

/** A fault's repetitions, their verdicts and totals. */
export function summarize(step: FaultStep, reps: { segment: SegmentResult; verdict: Verdict }[]): FaultSummary {
  const sum = (f: (s: SegmentResult) => number): number => reps.reduce((t, r) => t + f(r.segment), 0);
  const recoveries = reps.map((r) => r.segment.metrics.recoveryMs);
  return {
    fault: step.name,
    summary: step.summary,
    pass: reps.every((r) => r.verdict.pass),
    repetitions: reps,
    totals: {
      sent: sum((s) => s.metrics.sent),
      ok: sum((s) => s.metrics.ok),
      lost: sum((s) => s.metrics.lost),
      lostInWindow: sum((s) => s.metrics.lostInWindow),
      wrong: sum((s) => s.metrics.wrong),
      duplicated: sum((s) => s.metrics.duplicated),
      upstreamRepeats: sum((s) => s.metrics.upstreamRepeats),
      bgRetries: sum((s) => s.metrics.bgRetries),
      bgRepeatsAfterSuccess: sum((s) => s.metrics.bgRepeatsAfterSuccess),
      bgNotTerminal: sum((s) => s.metrics.bgNotTerminal),
      maxRecoveryMs: recoveries.includes(null) ? null : Math.max(0, ...(recoveries as number[])),
    },
  };
}

const ms = (v: number | null): string => (v === null ? 'never' : `${v} ms`);

/** The table of one fault: a line per repetition (with its statuses and findings) and a total. */
export function faultTable(f: FaultSummary): string {
  if (f.skipped !== undefined) return `${line([f.fault, '-', '', '', '', '', '', '', '', '', '', '', 'SKIP'])}\n    skipped: ${f.skipped}`;
  const out: string[] = [];
  for (const { segment: s, verdict } of f.repetitions) {
    const m = s.metrics;
    out.push(
      line([
        f.fault,
        String(s.rep),
        String(m.sent),
        String(m.ok),
        // `+Nw`: lost within DURABILITY=fast's documented window (answered just before a web kill).
        `${m.lost}${m.lostInWindow > 0 ? `+${m.lostInWindow}w` : ''}`,
        String(m.wrong),
        String(m.duplicated),
        String(m.upstreamRepeats),
        `${m.bgRetries}${m.bgRepeatsAfterSuccess > 0 ? `(${m.bgRepeatsAfterSuccess}!)` : ''}`,
        String(m.bgNotTerminal),
        ms(m.recoveryMs),
        rolesCell(s),
        verdict.pass ? 'PASS' : 'FAIL',
      ]),
    );
    out.push(`    statuses during the fault: ${statusesCell(m.statuses) || '(none)'}`);
    const notes = [...s.window.notes];
    if (m.poisoned.requests > 0) {
      notes.push(`poisoned answered: ${m.poisoned.requests} (recorded completed ${m.poisoned.completed}, failed with reason ${m.poisoned.failedWithReason})`);
    }
    if (m.beforeFault.lost + m.beforeFault.wrong > 0) {
      notes.push(`of the lost/wrong, ${m.beforeFault.lost}/${m.beforeFault.wrong} started before the fault began`);
    }
    if (m.sdk.logical > 0) {
      notes.push(`SDK: ${m.sdk.logical} logical requests, ${m.sdk.ok} answered 2xx, ${m.sdk.retried} retried by the SDK, ${m.sdk.duplicated} answered with more than one row`);
    }
    if (!s.settle.allTerminal) notes.push(`still open after ${s.settle.ms} ms: ${statusesCell(s.settle.openStates)}`);
    if (s.load.skipped > 0) notes.push(`${s.load.skipped} requests skipped at the concurrency bound`);
    if (notes.length > 0) out.push(`    notes: ${notes.join('; ')}`);
    for (const failure of verdict.failures) out.push(`    FAIL: ${failure}`);
  }
  const t = f.totals;
  out.push(
    line([
      `  ${f.fault} total`,
      String(f.repetitions.length),
      String(t.sent),
      String(t.ok),
      `${t.lost}${t.lostInWindow > 0 ? `+${t.lostInWindow}w` : ''}`,
      String(t.wrong),
      String(t.duplicated),
      String(t.upstreamRepeats),
      `${t.bgRetries}${t.bgRepeatsAfterSuccess > 0 ? `(${t.bgRepeatsAfterSuccess}!)` : ''}`,
      String(t.bgNotTerminal),
      ms(t.maxRecoveryMs),
      '',
      f.pass ? 'PASS' : 'FAIL',
    ]),
  );
  return out.join('\n');
}

/** A horizontal rule as wide as the table. */
export function rule(): string {
  return '-'.repeat(WIDTHS.reduce((a, b) => a + b + 1, 0));
}

/** The column names and a rule under them. */
export function tableHeader(): string {
  return `${line(COLUMNS)}\n${rule()}`;
}

/** The last line: totals over every fault that ran. */
export function grandTotal(faults: readonly FaultSummary[]): string {
  const ran = faults.filter((f) => f.skipped === undefined);
  const sum = (k: keyof FaultSummary['totals']): number => ran.reduce((t, f) => t + (f.totals[k] ?? 0), 0);
  const passed = ran.filter((f) => f.pass).length;
  return line([
    'ALL FAULTS',
    String(ran.reduce((t, f) => t + f.repetitions.length, 0)),
    String(sum('sent')),
    String(sum('ok')),
    `${sum('lost')}${sum('lostInWindow') > 0 ? `+${sum('lostInWindow')}w` : ''}`,
    String(sum('wrong')),
    String(sum('duplicated')),
    String(sum('upstreamRepeats')),
    String(sum('bgRetries')),
    String(sum('bgNotTerminal')),
    '',
    `${passed}/${ran.length} faults pass`,
    passed === ran.length ? 'PASS' : 'FAIL',
  ]);
}
