import { defineConfig } from 'vitest/config';

// The harness's own tests: pure modules and the chaos upstream, no database. Outside
// `npm test` like the harness itself: `npx vitest run --config chaos/vitest.config.ts`.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
  },
});
