import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRole, type Child } from '../../helpers/child.ts';
import { row, startHarness, submit, waitFor, waitForState, type Harness } from './harness.ts';

// Separate flex processes (workers/flex.ts on Node 22) against this file's database and a
// fault upstream. The test process's own pg-boss supervises every second, as any live
// instance does, so a killed process's job is retried soon after its heartbeat goes stale.
let h: Harness;
const children: Child[] = [];

beforeAll(async () => {
  h = await startHarness({ processor: false });
});
afterAll(async () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  await h?.close();
});

async function startFlex(env: Record<string, string> = {}): Promise<Child> {
  const child = spawnRole('workers/flex.ts', {
    DATABASE_URL: h.t.url,
    ADMIN_TOKEN: 'test-admin-token-0123456789',
    UPSTREAM_URL: h.upstream.url,
    RETRY_BASE_MS: '200',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...env,
  });
  children.push(child);
  await child.waitForOutput('flex role ready');
  return child;
}

async function stopFlex(child: Child): Promise<void> {
  child.process.kill('SIGTERM');
  const exit = await child.exited;
  expect(exit, child.output()).toEqual({ code: 0, signal: null });
}

describe('flex processes', () => {
  it('hold a per-model limit across two processes, measured at the upstream', async () => {
    const limit = 2;
    h.upstream.script('m-limited', [{ kind: 'respond', delayMs: 250 }]);
    h.upstream.script('m-other', [{ kind: 'respond', delayMs: 250 }]);
    // The model's own limit, in the models table every process reads.
    await h.t.pool.query(`INSERT INTO models (name, upstream_url, concurrency) VALUES ('m-limited', $1, $2)`, [h.upstream.url, limit]);
    const env = { MODEL_CONCURRENCY: '6', PROCESSOR_CONCURRENCY: '6' };
    const [a, b] = await Promise.all([startFlex(env), startFlex(env)]);

    // Submitted together, so both processes' fetch loops wake and race for them at once.
    const [ids, others] = await Promise.all([
      Promise.all(Array.from({ length: 12 }, () => submit(h, { model: 'm-limited' }))),
      Promise.all(Array.from({ length: 6 }, () => submit(h, { model: 'm-other' }))),
    ]);
    for (const id of [...ids, ...others]) await waitForState(h.t, id, ['completed', 'failed'], 30_000);

    for (const id of [...ids, ...others]) expect((await row(h.t, id)).state).toBe('completed');
    expect(h.upstream.callsFor('m-limited')).toHaveLength(12);
    expect(h.upstream.maxConcurrent('m-limited')).toBeLessThanOrEqual(limit);
    expect(h.upstream.maxConcurrent('m-limited')).toBe(limit);
    // The limit is per model: the other model ran more at once.
    expect(h.upstream.maxConcurrent('m-other')).toBeGreaterThan(limit);

    await Promise.all([stopFlex(a), stopFlex(b)]);
  });

  it('complete a request whose process was killed (SIGKILL) mid-call in another process', async () => {
    const first = await startFlex({ PROCESSOR_CONCURRENCY: '2' });
    h.upstream.script('m-crash', [{ kind: 'hang' }, { kind: 'respond', body: { survived: true } }]);
    const id = await submit(h, { model: 'm-crash' });
    await waitFor(() => h.upstream.callsFor('m-crash'), (c) => c.length === 1, { what: 'the first call' });
    expect((await row(h.t, id)).state).toBe('processing');

    const second = await startFlex({ PROCESSOR_CONCURRENCY: '2' });
    first.process.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const done = await waitForState(h.t, id, ['completed', 'failed'], 45_000);
    expect(done.state).toBe('completed');
    expect(JSON.parse(done.responseBody!)).toEqual({ survived: true });
    const calls = h.upstream.callsFor('m-crash');
    expect(calls).toHaveLength(2);
    expect(calls[0]!.outcome).toBe('client-closed');
    expect(calls[1]!.outcome).toBe('answered');

    await stopFlex(second);
  }, 60_000);

  it('hand a call still running at the SIGTERM shutdown timeout back, to be completed by another process', async () => {
    const first = await startFlex({ PROCESSOR_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '1000' });
    h.upstream.script('m-sigterm', [{ kind: 'hang' }, { kind: 'respond', body: { after: 'sigterm' } }]);
    const id = await submit(h, { model: 'm-sigterm' });
    await waitFor(() => h.upstream.callsFor('m-sigterm'), (c) => c.length === 1, { what: 'the first call' });

    first.process.kill('SIGTERM');
    expect(await first.exited, first.output()).toEqual({ code: 0, signal: null });
    // The aborted attempt gave its row back before the process exited.
    const handedBack = await row(h.t, id);
    expect(handedBack).toMatchObject({ state: 'pending', retryAttempt: 0, claimedAt: null });
    expect(h.upstream.callsFor('m-sigterm')[0]!.outcome).toBe('client-closed');

    const second = await startFlex({ PROCESSOR_CONCURRENCY: '2' });
    const done = await waitForState(h.t, id, ['completed', 'failed'], 20_000);
    expect(done.state).toBe('completed');
    expect(JSON.parse(done.responseBody!)).toEqual({ after: 'sigterm' });
    await stopFlex(second);
  }, 40_000);
});
