/**
 * Architecture boundaries, checked on the source text:
 * - adapters in `providers/` are pure: they import only the adapter contract, the record types, zod and
 *   each other, and never touch the clock, timers, the process, I/O or OpenTelemetry;
 * - the provider-independent core in `src/` never branches on provider ids (only the built-in routes
 *   name them);
 * - the registry is the explicit list the config validates against;
 * - inside `src/`, imports only point down the layer order (`LAYERS` below), so a lower layer never learns about
 *   the one that uses it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterById, adapterIds, adapters } from '../providers/index.ts';

const root = new URL('..', import.meta.url).pathname;

const tsFiles = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();

/** Source without comments (so prose may mention anything); string contents are kept. */
const code = (file: string): string =>
  readFileSync(join(root, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');

const importsOf = (source: string): string[] => {
  const found: string[] = [];
  for (const match of source.matchAll(
    /\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]|\bimport\s+['"]([^'"]+)['"]|\brequire\s*\(\s*['"]([^'"]+)['"]/g,
  )) {
    found.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? '');
  }
  return found;
};

/** Everything an adapter module may import. `../src/record.ts` supplies types and the frozen `emptyUsage`. */
const ALLOWED_IMPORT = /^(\.\/[a-z0-9-]+\.ts|\.\.\/src\/adapter\.ts|\.\.\/src\/record\.ts|zod|zod\/mini)$/;

/** Ambient capabilities an adapter must not use: clock, timers, process, I/O, randomness, Node buffers. */
const FORBIDDEN_GLOBALS: readonly [string, RegExp][] = [
  ['Date', /\bDate\b/],
  ['performance', /\bperformance\b/],
  ['process', /\bprocess\b/],
  ['timers', /\b(setTimeout|setInterval|setImmediate|queueMicrotask|clearTimeout|clearInterval)\b/],
  ['fetch', /\bfetch\s*\(/],
  ['Buffer', /\bBuffer\b/],
  ['globalThis', /\bglobalThis\b/],
  ['Math.random', /\bMath\.random\b/],
  ['require', /\brequire\s*\(/],
];

// Every module in providers/ (the price table included) follows the same purity rules.
const providerFiles = tsFiles('providers');

describe('providers/ are pure', () => {
  it('finds the adapter modules', () => {
    expect(providerFiles.length).toBeGreaterThanOrEqual(15);
    expect(providerFiles).toContain('providers/index.ts');
    // The import scan must see the registry's imports, or every import check below would pass vacuously.
    expect(importsOf(code('providers/index.ts')).length).toBeGreaterThanOrEqual(15);
  });

  for (const file of providerFiles) {
    it(`${file} imports only the contract, record types, zod and sibling providers`, () => {
      const imports = importsOf(code(file));
      for (const specifier of imports)
        expect(specifier, `${file} imports ${specifier}`).toMatch(ALLOWED_IMPORT);
    });

    it(`${file} uses no clock, timer, process, I/O or OpenTelemetry`, () => {
      const source = code(file);
      for (const [name, pattern] of FORBIDDEN_GLOBALS)
        expect(pattern.test(source), `${file} uses ${name}`).toBe(false);
      expect(source).not.toMatch(/@opentelemetry|undici|node:/);
    });
  }

  it('the checks catch what they are meant to catch', () => {
    expect(
      importsOf(`import { x } from 'node:fs';\nimport y from "undici";\nawait import('./a.ts');`),
    ).toEqual(['node:fs', 'undici', './a.ts']);
    expect('node:fs').not.toMatch(ALLOWED_IMPORT);
    expect('@opentelemetry/api').not.toMatch(ALLOWED_IMPORT);
    expect('../src/proxy/tap.ts').not.toMatch(ALLOWED_IMPORT);
    expect('./gemini.ts').toMatch(ALLOWED_IMPORT);
    const clock = FORBIDDEN_GLOBALS.find(([name]) => name === 'Date')?.[1];
    expect(clock?.test('const t = Date.now();')).toBe(true);
    expect(code('providers/index.ts')).not.toContain('/**');
  });
});

/**
 * Files in `src/` allowed to name provider ids, with the reason. The rule's intent is that the forwarding,
 * capture and telemetry core never branches on providers.
 */
const MAY_NAME_PROVIDERS: Readonly<Record<string, string>> = {
  'src/config/builtin-routes.ts': 'the built-in routes map prefixes to adapter ids',
  'src/injector/sdk-env.ts':
    'the admission webhook sets per-SDK base-URL environment variables (OPENAI_BASE_URL…), which are provider-specific by nature',
  'src/injector/mutate.ts': 'same webhook: chooses which SDK variables to set',
  'src/proxy/route-signing.ts':
    "the default SigV4 signing name of `signing: aws-sigv4` routes is Bedrock's, which is the string bedrock",
};

describe('src/ never branches on provider ids', () => {
  const quotedId = new RegExp(`['"\`](${adapterIds.map((id) => id.replace(/[-]/g, '\\-')).join('|')})['"\`]`);

  it('the pattern finds a quoted id and ignores longer names', () => {
    expect(quotedId.test(`if (id === 'anthropic') {}`)).toBe(true);
    expect(quotedId.test('const a = "openai.api.type";')).toBe(false);
  });

  for (const file of tsFiles('src')) {
    if (MAY_NAME_PROVIDERS[file] !== undefined) continue;
    it(`${file} names no provider id`, () => {
      const hit = quotedId.exec(code(file));
      expect(hit?.[0], `${file} names provider id ${hit?.[0]}`).toBeUndefined();
    });
  }
});

describe('the core reaches adapters only through the registry, in the composition root', () => {
  it('src/ imports from providers/ only the registry (in src/main.ts) and the price table', () => {
    const imports = tsFiles('src').flatMap((file) =>
      importsOf(code(file))
        .filter((specifier) => specifier.includes('/providers/'))
        .map((specifier) => `${file} -> ${specifier.slice(specifier.indexOf('providers/'))}`),
    );
    expect(imports).toContain('src/main.ts -> providers/index.ts');
    for (const entry of imports) {
      expect(
        entry === 'src/main.ts -> providers/index.ts' || entry.endsWith('-> providers/prices.ts'),
        entry,
      ).toBe(true);
    }
  });
});

describe('the adapter registry', () => {
  const expectedNames: Readonly<Record<string, string>> = {
    openai: 'openai',
    'azure-openai': 'azure.ai.openai',
    anthropic: 'anthropic',
    gemini: 'gcp.gemini',
    'vertex-ai': 'gcp.vertex_ai',
    bedrock: 'aws.bedrock',
    cohere: 'cohere',
    mistral: 'mistral_ai',
    groq: 'groq',
    deepseek: 'deepseek',
    together: 'together_ai',
    openrouter: 'openrouter',
    xai: 'x_ai',
    ollama: 'ollama',
    'openai-compatible': 'openai',
  };

  it('lists exactly the documented ids, once each, with their gen_ai.provider.name', () => {
    expect([...adapterIds].sort()).toEqual(Object.keys(expectedNames).sort());
    expect(new Set(adapterIds).size).toBe(adapterIds.length);
    for (const adapter of adapters) {
      expect(adapter.providerName, adapter.id).toBe(expectedNames[adapter.id]);
      expect(adapterById(adapter.id)).toBe(adapter);
    }
  });

  it('knows no other id', () => {
    expect(adapterById('OpenAI')).toBeUndefined();
    expect(adapterById('')).toBeUndefined();
    expect(adapterById('constructor')).toBeUndefined();
  });
});

/**
 * The layer order of `src/`, top to bottom. A module may import its own group (the same folder, or itself) and any
 * group in a lower layer, never one above it nor a peer in its own layer. Every file of `src/` must belong to a
 * group, so a new folder has to be placed here.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['main'],
  // Observers: capture turns bytes into records, telemetry and feed consume records; they meet only through the
  // contracts below (call-observer, record).
  ['capture', 'telemetry', 'feed'],
  ['call-observer', 'server'],
  ['proxy'],
  ['framing', 'injector'],
  ['adapter', 'config'],
  ['log'],
  ['errors', 'redact', 'record', 'heap-compact', 'heap-growth'],
];

/** `src/proxy/forward.ts` → `proxy`; `src/main.ts` → `main`. */
const groupOf = (file: string): string => {
  const rest = file.slice('src/'.length);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest.replace(/\.ts$/, '') : rest.slice(0, slash);
};

const layerOf = (group: string): number => LAYERS.findIndex((layer) => layer.includes(group));

/** Every `src/` → `src/` import as [from group, to group, edge text]. */
const srcEdges = (): [string, string, string][] =>
  tsFiles('src').flatMap((file) =>
    importsOf(code(file))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => normalize(join(dirname(file), specifier)))
      .filter((target) => target.startsWith('src/'))
      .map((target): [string, string, string] => [groupOf(file), groupOf(target), `${file} -> ${target}`]),
  );

/** What the rule allows: the same group, or a group in a strictly lower layer. */
const allowed = (from: string, to: string): boolean => from === to || layerOf(to) > layerOf(from);

describe('src/ imports point down the layer order', () => {
  it('every src/ module belongs to a layer', () => {
    const unplaced = [...new Set(tsFiles('src').map(groupOf))].filter((group) => layerOf(group) === -1);
    expect(unplaced).toEqual([]);
  });

  it('the import scan sees the composition root wiring every layer', () => {
    const fromMain = srcEdges()
      .filter(([from]) => from === 'main')
      .map(([, to]) => to);
    for (const group of ['capture', 'telemetry', 'server', 'proxy', 'config', 'log'])
      expect(fromMain, `main imports ${group}`).toContain(group);
  });

  it('no import goes up or sideways', () => {
    const wrong = srcEdges()
      .filter(([from, to]) => !allowed(from, to))
      .map(([, , edge]) => edge);
    expect(wrong).toEqual([]);
  });

  it('the proxy knows no provider: of the adapter contract it uses only the tap vocabulary, in its tap contract', () => {
    const fromProxy = srcEdges()
      .filter(([from, to]) => from === 'proxy' && to === 'adapter')
      .map(([, , edge]) => edge);
    expect(fromProxy).toEqual(['src/proxy/tap.ts -> src/adapter.ts']);
    const server = srcEdges().filter(([from, to]) => from === 'server' && to === 'adapter');
    expect(server).toEqual([]);
  });

  it('the rule catches what it is meant to catch', () => {
    // The import that once slipped in: the proxy reaching up into capture for its JSON skimmer.
    expect(allowed('proxy', 'capture')).toBe(false);
    // Peers: capture and telemetry know each other only through call-observer and record.
    expect(allowed('capture', 'telemetry')).toBe(false);
    expect(allowed('telemetry', 'capture')).toBe(false);
    expect(allowed('framing', 'proxy')).toBe(false);
    expect(allowed('telemetry', 'proxy')).toBe(true);
    expect(allowed('proxy', 'framing')).toBe(true);
    expect(allowed('capture', 'capture')).toBe(true);
    expect(groupOf('src/proxy/forward.ts')).toBe('proxy');
    expect(groupOf('src/call-observer.ts')).toBe('call-observer');
  });
});

describe('src/ files stay small, or say why not', () => {
  /** About a screenful of reading per concern: past it a file states its reason in its header (` * Size: …`). */
  const MAX_LINES = 300;

  it('every src/ file over 300 lines gives a reason for its size in its header', () => {
    const unexplained = tsFiles('src').filter((file) => {
      const text = readFileSync(join(root, file), 'utf8');
      if (text.split('\n').length <= MAX_LINES) return false;
      const header = text.startsWith('/**') ? text.slice(0, text.indexOf('*/')) : '';
      return !/^ \* Size: \S/m.test(header);
    });
    expect(unexplained).toEqual([]);
  });
});
