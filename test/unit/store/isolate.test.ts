import { describe, expect, it, vi } from 'vitest';
import { writeIsolated } from '../../../src/store/isolate.ts';

/** What pg throws for a value PostgreSQL refuses. */
const refused = (code: string) => Object.assign(new Error('refused'), { code });

describe('writeIsolated', () => {
  it('writes the batch in one go when the database takes it', async () => {
    const write = vi.fn(async (rows: number[]) => rows);
    expect(await writeIsolated([1, 2, 3], write, (r) => -r)).toEqual([1, 2, 3]);
    expect(write).toHaveBeenCalledTimes(1);
  });

  it('finds the refused row, writes it degraded, and writes its batch-mates', async () => {
    const write = vi.fn(async (rows: number[]) => {
      if (rows.includes(2)) throw refused('22003');
      return rows;
    });
    const rejected: [number, string][] = [];
    const out = await writeIsolated([1, 2, 3], write, (r) => -r, (r, code) => rejected.push([r, code]));
    expect(out).toEqual([1, -2, 3]);
    expect(rejected).toEqual([[2, '22003']]);
  });

  it('throws what is not about the values (the database down): the batch is retried as a whole', async () => {
    const write = vi.fn(async () => {
      throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
    });
    await expect(writeIsolated([1, 2], write, (r) => r)).rejects.toThrow('Connection terminated');
    expect(write).toHaveBeenCalledTimes(1);
  });

  it('reads the code through a wrapper (drizzle puts it in cause)', async () => {
    const write = async (rows: number[]) => {
      if (rows.includes(1)) throw new Error('Failed query', { cause: refused('22P05') });
      return rows;
    };
    expect(await writeIsolated([1, 2], write, () => 0)).toEqual([0, 2]);
  });
});
