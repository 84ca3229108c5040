import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The fast tier (`npm test`). Files slow by nature (a browser, `npm ci`, memory bounds under load, the bench smoke,
 * whole-product fuzzing with hundreds of proxied exchanges, multi-second lifecycle deadlines) are named `*.slow.test.ts` and run in `npm run test:slow` (vitest.slow.config.ts).
 */
export const slowTests = 'test/**/*.slow.test.ts';

export const config = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, slowTests],
    // Generous: a passing test never waits for these, and on a shared 2-core machine under load a CLI start alone
    // can take 5-10 s. Tests wait for positive signals, not for deadlines.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/setup/private-tmpdir.ts'],
  },
});

// vitest loads the default export of its config file; the project rule is named exports elsewhere.
export default config;
