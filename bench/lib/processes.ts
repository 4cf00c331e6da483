import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');

export interface Role {
  name: string;
  proc: ChildProcess;
  pid: number;
  output(): string;
  /** Peak resident set (VmHWM) so far, in MB; undefined once the process is gone. */
  peakRssMb(): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. Records peak RSS first. */
  stop(graceMs?: number): Promise<void>;
  /** Highest VmHWM seen (kept after stop). */
  readonly maxRssMb: number | undefined;
}

const live = new Set<Role>();
process.on('exit', () => {
  for (const r of live) r.proc.kill('SIGKILL');
});

/** VmHWM of a pid in MB (Linux /proc). */
export function vmHwmMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `entry` (relative to the repo root) on the pinned Node 22 with `env` only. */
export function spawnRole(name: string, entry: string, env: Record<string, string>): Role {
  // BENCH_CHILD_NODE_ARGS: V8 flags that NODE_OPTIONS refuses (e.g. --single-threaded-gc).
  const nodeArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const proc = spawn(NODE, [...nodeArgs, path.join(ROOT, entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  if (process.env.BENCH_TEE) {
    // Both streams: the roles log JSON lines to stdout, V8's --trace-gc writes there too.
    const tee = (c: Buffer) => process.stderr.write(c.toString().replace(/^(?=.)/gm, `[${name}] `));
    proc.stdout!.on('data', tee);
    proc.stderr!.on('data', tee);
  }
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let maxRss: number | undefined;
  const sample = (): number | undefined => {
    const v = proc.pid === undefined ? undefined : vmHwmMb(proc.pid);
    if (v !== undefined) maxRss = Math.max(maxRss ?? 0, v);
    return v;
  };
  const role: Role = {
    name,
    proc,
    pid: proc.pid!,
    output: () => out,
    peakRssMb: sample,
    get maxRssMb() {
      return maxRss;
    },
    async stop(graceMs = 10_000) {
      sample();
      if (proc.exitCode !== null || proc.signalCode !== null) {
        live.delete(role);
        return;
      }
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      live.delete(role);
    },
  };
  live.add(role);
  proc.once('exit', (code, signal) => {
    if (live.has(role) && code !== 0) {
      process.stderr.write(`bench: ${name} exited early (code ${code}, signal ${signal}):\n${out.slice(-4000)}\n`);
    }
  });
  return role;
}

/** Polls `url` until it answers 200 (or throws after `timeoutMs`). */
export async function waitForHttp(url: string, role: Role, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (role.proc.exitCode !== null) throw new Error(`${role.name} exited:\n${role.output().slice(-4000)}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${role.name} not ready at ${url} within ${timeoutMs} ms:\n${role.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
