import { configDefaults, defineConfig } from 'vitest/config';
import { config as fast, slowTests } from './vitest.config.ts';

/** The slow tier (`npm run test:slow`): only the `*.slow.test.ts` files, otherwise the fast tier's settings. */
export const config = defineConfig({
  test: { ...fast.test, include: [slowTests], exclude: [...configDefaults.exclude] },
});

// vitest loads the default export of its config file; the project rule is named exports elsewhere.
export default config;
