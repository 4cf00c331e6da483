import { Placeholder, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import type { Executor } from './client.ts';

const dialect = new PgDialect({ casing: 'snake_case' });

/**
 * A statement on the hot path, run as a named prepared statement: PostgreSQL parses and
 * plans it once per connection instead of on every call. For the batched CTEs of
 * store/requests.ts that is most of the cost (measured here: 1.0 ms unnamed vs 0.43 ms
 * named per single-row call, and drizzle's own query building added another 0.25 ms).
 *
 * Written with drizzle's `sql` tag and `sql.placeholder(name)` for the values (other
 * parameters are constants of the statement), built to text once. On the pool-backed database it runs through `pg` directly with a name; inside
 * a drizzle transaction (which exposes no client) it runs as an ordinary drizzle query.
 */
export class PreparedStatement<Values extends Record<string, unknown>> {
  readonly name: string;
  readonly text: string;
  /** Per $n: the placeholder's name, or a constant the statement was built with. */
  readonly #params: ({ name: keyof Values & string } | { value: unknown })[];

  constructor(name: string, query: SQL) {
    const built = dialect.sqlToQuery(query);
    this.name = name;
    this.text = built.sql;
    this.#params = built.params.map((p) =>
      p instanceof Placeholder ? { name: p.name as keyof Values & string } : { value: p },
    );
  }

  async run<Row extends Record<string, unknown>>(db: Executor, values: Values): Promise<Row[]> {
    const params = this.#params.map((p) => ('name' in p ? values[p.name] : p.value));
    const client = '$client' in db ? (db.$client as pg.Pool) : undefined;
    if (client) return (await client.query<Row>({ name: this.name, text: this.text, values: params })).rows;
    // $1, $2, … back into drizzle params, for a transaction's executor.
    const chunks = this.text.split(/\$(\d+)/);
    const query = sql.empty();
    chunks.forEach((chunk, i) => query.append(i % 2 === 0 ? sql.raw(chunk) : sql`${sql.param(params[Number(chunk) - 1])}`));
    return (await db.execute<Row>(query)).rows as Row[];
  }
}
