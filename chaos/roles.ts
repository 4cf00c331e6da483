// volley's roles as separate processes, as a process manager runs them: the harness kills
// and restarts them on purpose, and restarts any that exits on its own (recording that,
// since a role exiting is a finding). Every role's output goes to chaos/results/roles.log.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');

export const ROLE_NAMES = ['web', 'worker', 'flex'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

const ENTRIES: Record<RoleName | 'migrate', string> = {
  web: 'workers/web.ts',
  worker: 'workers/worker.ts',
  flex: 'workers/flex.ts',
  migrate: 'workers/migrate.ts',
};

/** A role that exited without the harness asking it to. */
export interface UnexpectedExit {
  role: RoleName;
  pid: number;
  at: number;
  code: number | null;
  signal: string | null;
  /** The last lines it wrote. */
  tail: string;
}

export interface RoleSetOptions {
  /** Environment shared by every role. */
  env: Record<string, string>;
  /** Per-role additions (PORT for web, METRICS_PORT for the others). */
  roleEnv: Record<RoleName, Record<string, string>>;
  /** A URL per role that answers 200 once the role is ready. */
  readyUrl: Record<RoleName, string>;
  logFile: string;
  log: (line: string) => void;
}

interface Running {
  proc: ChildProcess;
  pid: number;
  exited: Promise<void>;
  deliberate: boolean;
  tail: string;
}

/** The running roles: started, killed, restarted after an exit of their own, stopped. */
export class RoleSet {
  readonly #opts: RoleSetOptions;
  readonly #running = new Map<RoleName, Running>();
  readonly #log: WriteStream;
  readonly #restarting = new Set<RoleName>();
  readonly unexpectedExits: UnexpectedExit[] = [];
  #closing = false;

  constructor(opts: RoleSetOptions) {
    this.#opts = opts;
    this.#log = createWriteStream(opts.logFile, { flags: 'a' });
    process.on('exit', () => {
      for (const r of this.#running.values()) r.proc.kill('SIGKILL');
    });
  }

  /** Runs the release step (migrations) and resolves when it exited 0. */
  async migrate(): Promise<void> {
    const proc = this.#spawn('migrate', {});
    const code = await new Promise<number | null>((resolve) => proc.proc.once('exit', (c) => resolve(c)));
    if (code !== 0) throw new Error(`workers/migrate.ts exited with ${code}:\n${proc.tail}`);
  }

  pid(role: RoleName): number | undefined {
    return this.#running.get(role)?.pid;
  }

  pids(): Record<RoleName, number | undefined> {
    return { web: this.pid('web'), worker: this.pid('worker'), flex: this.pid('flex') };
  }

  /** Starts a role and waits until it is ready. */
  async start(role: RoleName, readyTimeoutMs = 60_000): Promise<void> {
    const running = this.#spawn(role, this.#opts.roleEnv[role]);
    this.#running.set(role, running);
    void running.exited.then(() => this.#onExit(role, running));
    try {
      await this.#waitReady(role, running, readyTimeoutMs);
    } catch (err) {
      running.deliberate = true;
      running.proc.kill('SIGKILL');
      if (this.#running.get(role) === running) this.#running.delete(role);
      throw err;
    }
  }

  /** Sends `signal` on purpose and waits for the exit (SIGKILL after 30 s for a SIGTERM). */
  async kill(role: RoleName, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const running = this.#running.get(role);
    if (!running) return;
    running.deliberate = true;
    running.proc.kill(signal);
    const timer = setTimeout(() => running.proc.kill('SIGKILL'), 30_000);
    await running.exited;
    clearTimeout(timer);
    this.#running.delete(role);
  }

  /** Resolves once no restart after an unexpected exit is in progress (bounded). */
  async settled(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#restarting.size > 0 && Date.now() < deadline) await sleep(200);
  }

  /** SIGTERM (a graceful stop) at the end of a run; SIGKILL when the run was interrupted. */
  async stopAll(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    this.#closing = true;
    await Promise.all(ROLE_NAMES.map((r) => this.kill(r, signal)));
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }

  #spawn(role: RoleName | 'migrate', extra: Record<string, string>): Running {
    const proc = spawn(NODE, [path.join(ROOT, ENTRIES[role])], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.#opts.env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const running: Running = {
      proc,
      pid: proc.pid ?? -1,
      exited: new Promise((resolve) => proc.once('exit', () => resolve())),
      deliberate: false,
      tail: '',
    };
    const prefix = `[${role} ${running.pid}] `;
    const keep = (chunk: Buffer): void => {
      const text = chunk.toString();
      running.tail = (running.tail + text).slice(-8_000);
      this.#log.write(text.replace(/^(?=.)/gm, prefix));
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    return running;
  }

  #onExit(role: RoleName, running: Running): void {
    if (this.#running.get(role) === running && (running.deliberate || this.#restarting.has(role))) this.#running.delete(role);
    // A failed attempt of a restart in progress is that restart's business, not a new exit.
    if (running.deliberate || this.#closing || this.#restarting.has(role)) return;
    const { exitCode, signalCode } = running.proc;
    this.unexpectedExits.push({ role, pid: running.pid, at: Date.now(), code: exitCode, signal: signalCode, tail: running.tail.slice(-2_000) });
    this.#opts.log(`${role} (pid ${running.pid}) exited on its own (code ${exitCode}, signal ${signalCode}); restarting it`);
    if (this.#running.get(role) === running) this.#running.delete(role);
    void this.#restartUntilUp(role);
  }

  /** As a process manager would: try again every 2 s until the role is up. */
  async #restartUntilUp(role: RoleName): Promise<void> {
    if (this.#restarting.has(role)) return;
    this.#restarting.add(role);
    try {
      while (!this.#closing && !this.#running.has(role)) {
        await sleep(1_000);
        try {
          await this.start(role, 30_000);
        } catch {
          await sleep(1_000);
        }
      }
    } finally {
      this.#restarting.delete(role);
    }
  }

  async #waitReady(role: RoleName, running: Running, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (running.proc.exitCode !== null || running.proc.signalCode !== null) {
        throw new Error(`${role} exited before it was ready:\n${running.tail.slice(-3_000)}`);
      }
      try {
        const res = await fetch(this.#opts.readyUrl[role], { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${role} not ready within ${timeoutMs} ms:\n${running.tail.slice(-3_000)}`);
      await sleep(100);
    }
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
