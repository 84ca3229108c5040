/**
 * src/config/yaml.ts: YAML is parsed with the `yaml` package, which is then let go (#15: nothing of it stays
 * resident after start). The bundle's variant (assets/yaml.cjs) is run by test/deploy/bundle.test.ts.
 */
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../src/config/yaml.ts';

const yamlModulesCached = (): string[] =>
  Object.keys(createRequire(import.meta.url).cache).filter((id) =>
    id.includes(`${sep}node_modules${sep}yaml${sep}`),
  );

describe('parseYaml', () => {
  it('parses YAML and JSON as the yaml package does, options included', () => {
    expect(parseYaml('listen: 127.0.0.1:4545\nroutes:\n  - prefix: /a\n    mode: off\n')).toEqual({
      listen: '127.0.0.1:4545',
      routes: [{ prefix: '/a', mode: 'off' }],
    });
    expect(parseYaml('{"a": [1, 2.5, null, true]}')).toEqual({ a: [1, 2.5, null, true] });
    expect(() => parseYaml('a: &x [1]\nb: [*x, *x, *x]\n', { maxAliasCount: 2 })).toThrow(/alias/i);
    expect(() => parseYaml('a: [1\n')).toThrow();
  });

  it('leaves no module of the yaml package in the CommonJS cache (so the GC after start frees it)', () => {
    parseYaml('a: 1\n');
    expect(yamlModulesCached()).toEqual([]);
  });
});
