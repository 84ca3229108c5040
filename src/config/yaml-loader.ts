/**
 * Loads the `yaml` package for one use and lets it go (#15): llmtap parses YAML only at start (its config file,
 * `LLMTAP_PRICES`), and a module kept in the cache stays resident (~0.9 MB) in every pod for nothing. Loaded
 * with `require` and dropped from the CommonJS cache at once, the caller's reference is the last one, so the
 * collection after start (src/heap-compact.ts) frees it.
 *
 * The image's bundle replaces this file (scripts/bundle.ts): there `yaml` is `dist/assets/yaml.cjs`.
 */
import { createRequire } from 'node:module';
import { sep } from 'node:path';

export type YamlModule = typeof import('yaml');

export const loadYamlOnce = (): YamlModule => {
  const require = createRequire(import.meta.url);
  const yaml = require('yaml') as YamlModule;
  const own = `${sep}node_modules${sep}yaml${sep}`;
  for (const [id, module] of Object.entries(require.cache)) {
    if (!id.includes(own)) continue;
    delete require.cache[id];
    // The loader also lists a module among its parent's children; ours is the require above, kept for good.
    const siblings = module?.parent?.children;
    if (siblings !== undefined && module !== undefined && siblings.includes(module))
      siblings.splice(siblings.indexOf(module), 1);
  }
  return yaml;
};
