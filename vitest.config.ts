import { defineConfig } from 'vitest/config';

export const config = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    globalSetup: ['test/setup/private-tmpdir.ts'],
  },
});

// vitest loads the default export of its config file; the project rule is named exports elsewhere.
export default config;
