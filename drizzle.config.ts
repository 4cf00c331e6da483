import { defineConfig } from 'drizzle-kit';

// drizzle-kit only generates SQL here; migrations are applied by `npm run migrate`.
// schemaFilter keeps it away from pg-boss's own schema.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './drizzle',
  casing: 'snake_case',
  schemaFilter: ['public'],
});
