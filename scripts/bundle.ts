/**
 * `npm run build`: the image's command as one bundle (`dist/llmtap.js`), built with esbuild from the
 * TypeScript sources, with production dependencies only.
 *
 * Why a bundle (#15): the image ran `dist/src/*.js` plus a production `node_modules`. Node then resolves,
 * reads and keeps ~1,000 module files and their source text; one file with whitespace removed loads less
 * and keeps less resident. Lazy features stay lazy: every `await import()` becomes its own chunk file next
 * to the entry (ESM code splitting), read only when that feature first runs.
 *
 * Production only: esbuild's metafile lists every input; an input from a package the lockfile marks
 * `dev: true` fails the build, so a stray import of a dev dependency can never ship.
 *
 *   node scripts/bundle.ts [--outDir DIR]     (default: dist)
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Packages (lockfile keys like `node_modules/a/node_modules/b`) that only dev dependencies need. */
const devOnlyPackages = (): Set<string> => {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return new Set(
    Object.entries(lock.packages)
      .filter(([, entry]) => entry.dev === true)
      .map(([key]) => key),
  );
};

/** The lockfile key of the package an input path belongs to (`node_modules/@scope/name`), if any. */
export const packageKeyOf = (input: string): string | undefined => {
  const parts = input.split('/');
  let end = -1;
  for (let i = 0; i < parts.length; i += 1) {
    if (parts[i] !== 'node_modules') continue;
    end = i + ((parts[i + 1] ?? '').startsWith('@') ? 2 : 1);
  }
  if (end < 0) return undefined;
  const start = parts.indexOf('node_modules');
  return parts.slice(start, end + 1).join('/');
};

export const devInputs = (metafile: Metafile, dev: ReadonlySet<string>): string[] =>
  Object.keys(metafile.inputs).filter((input) => {
    const key = packageKeyOf(input);
    return key !== undefined && dev.has(key);
  });

/**
 * Node built-ins through `require` instead of ESM `import`. An ESM import of a built-in builds a facade that
 * reads every export once, and `node:http`'s lazy exports (WebSocket, MessageEvent…) then load Node's own
 * internal copy of undici (~680 KB of source, ~4 MB resident) that llmtap never uses. `require` hands out the
 * module object itself, and esbuild's interop reads a named import only when it is used.
 */
const builtinsViaRequire: Plugin = {
  name: 'builtins-via-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import'
        ? { path: args.path, namespace: 'builtin-require' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * undici's WebAssembly HTTP parsers, each a self-contained CommonJS file of base64 (~300 KB of the start-up
 * bundle's source, kept resident as its text): llhttp (SIMD, and the fallback without) compiles on the first
 * upstream connection, milo only when UNDICI_USE_MILO is set. They become files of their own next to the bundle
 * (`assets/`), required when undici first asks for them.
 */
export const undiciWasmFiles = [
  'llhttp/llhttp_simd-wasm.js',
  'llhttp/llhttp-wasm.js',
  'milo/simd.js',
  'milo/no-simd.js',
] as const;

/** `llhttp/llhttp-wasm.js` → `undici-llhttp-llhttp-wasm.cjs` (CommonJS whatever package.json says). */
export const wasmAssetName = (file: string): string =>
  `undici-${file.replace(/\.js$/, '').replace(/\//g, '-')}.cjs`;

const undiciSlim: Plugin = {
  name: 'undici-slim',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/(llhttp|milo)\/[a-z_-]+\.js$/ }, (args) => {
      const file = args.path.slice('../'.length);
      return args.importer.includes('node_modules/undici/') &&
        (undiciWasmFiles as readonly string[]).includes(file)
        ? { path: file, namespace: 'undici-wasm' }
        : undefined;
    });
    // `__llmtapRequireAsset` is defined by the banner of the file this code lands in (esbuild routes a plain
    // `require` through a helper of another chunk, whose relative paths would start elsewhere).
    b.onLoad({ filter: /.*/, namespace: 'undici-wasm' }, (args) => ({
      contents: `module.exports = __llmtapRequireAsset(${JSON.stringify(wasmAssetName(args.path))});`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^undici$/ }, (args) =>
      args.importer.includes('node_modules') ? undefined : { path: 'undici', namespace: 'undici-slim' },
    );
    b.onLoad({ filter: /.*/, namespace: 'undici-slim' }, () => ({
      contents: `export { default as Agent } from 'undici/lib/dispatcher/agent.js'; export { default as EnvHttpProxyAgent } from 'undici/lib/dispatcher/env-http-proxy-agent.js';`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * The command's entry, plus entry points that only split the code loaded at start into files under 256 KB
 * (`maxStartFileBytes`; esbuild puts the code an entry shares with another into a chunk of its own). Why size
 * matters (#15): Node reads a module's source into a buffer that doubles as it fills, so a 600 KB file ends in a
 * freed 1 MB buffer; glibc then raises its trim threshold to twice that and keeps up to 2 MB of freed heap in the
 * process for good. With every start-up file under 256 KB it keeps at most ~0.5 MB (idle RSS -1.7 MB measured).
 * The split entries themselves (`chunks/split-*.js`) are never loaded.
 */
export const commandEntryPoints: Record<string, string> = {
  llmtap: 'src/cli.ts',
  'chunks/split-undici-agent': 'node_modules/undici/lib/dispatcher/agent.js',
  'chunks/split-undici-proxy-agent': 'node_modules/undici/lib/dispatcher/env-http-proxy-agent.js',
  'chunks/split-telemetry': 'src/telemetry/index.ts',
  'chunks/split-providers': 'providers/index.ts',
};

/** What `commandEntryPoints` keeps every file loaded at start under (bundle.test.ts checks it). */
export const maxStartFileBytes = 256 * 1024 - 1024;

/** `entryPoints` other than the command's: test/bench/idle-rss.ts bundles one probe per module the same way. */
/**
 * The classic zod API (`from 'zod'`, only the lazily loaded injector uses it) is bundled from zod's CommonJS build.
 * Start-up code uses `zod/mini`, whose functions tree-shake to a few KB; if both came from the same ESM files,
 * esbuild would put the modules they share into one chunk holding everything the classic API needs, and that
 * chunk loads at start (~10 MB resident, #15). Different files share nothing.
 */
const classicZodFromCjs: Plugin = {
  name: 'classic-zod-from-cjs',
  setup(b) {
    const cjs = createRequire(join(root, 'package.json')).resolve('zod');
    b.onResolve({ filter: /^zod$/ }, (args) => (args.kind === 'require-call' ? undefined : { path: cjs }));
  },
};

/**
 * `yaml` is needed only at start (config file, price file): src/config/yaml-loader.ts requires it once and drops
 * it from the cache so that it can be collected. In the bundle that file loads `assets/yaml.cjs`, yaml bundled
 * on its own (a module inside the bundle would stay referenced by esbuild's module wrapper forever).
 */
const yamlAsset: Plugin = {
  name: 'yaml-asset',
  setup(b) {
    b.onLoad({ filter: /[/\\]src[/\\]config[/\\]yaml-loader\.ts$/ }, () => ({
      contents: "export const loadYamlOnce = () => __llmtapRequireAsset('yaml.cjs', true);",
      loader: 'js',
    }));
  },
};

export const bundle = async (
  outDir: string,
  entryPoints: Record<string, string> = commandEntryPoints,
): Promise<Metafile> => {
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints,
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    // Whitespace and syntax only: function and class names stay, so logged stack frames stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    chunkNames: 'chunks/[name]-[hash]',
    // Optional requires inside try/catch, absent from a production install: ws's native speed-ups (it falls
    // back to JavaScript) and follow-redirects' `debug` (http-proxy's dependency; no logging without it).
    external: ['bufferutil', 'utf-8-validate', 'debug'],
    // CommonJS dependencies (undici, http-proxy) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __llmtapCreateRequire } from 'node:module'; const require = __llmtapCreateRequire(import.meta.url); const __llmtapRequireAsset = (name, once) => { const id = require.resolve((import.meta.url.includes('/chunks/') ? '../assets/' : './assets/') + name); try { return require(id); } finally { if (once) { const m = require.cache[id]; delete require.cache[id]; const kids = m?.parent?.children; if (kids) kids.splice(kids.indexOf(m) >>> 0, 1); } } };",
    },
    plugins: [builtinsViaRequire, undiciSlim, classicZodFromCjs, yamlAsset],
    metafile: true,
    logLevel: 'warning',
  });
  const dev = devInputs(result.metafile, devOnlyPackages());
  if (dev.length > 0) {
    rmSync(outDir, { recursive: true, force: true });
    throw new Error(`the bundle would contain dev dependencies:\n  ${dev.slice(0, 20).join('\n  ')}`);
  }
  mkdirSync(join(outDir, 'assets'), { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [createRequire(join(root, 'package.json')).resolve('yaml')],
    outfile: join(outDir, 'assets', 'yaml.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node24',
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of undiciWasmFiles)
    copyFileSync(
      join(root, 'node_modules', 'undici', 'lib', file),
      join(outDir, 'assets', wasmAssetName(file)),
    );
  return result.metafile;
};

/**
 * The inputs that load at start: those of the entry file and of every chunk it imports statically. Everything
 * else sits in a chunk behind an `await import()` and costs nothing until its feature runs.
 */
export const eagerInputs = (metafile: Metafile, entry = 'llmtap.js'): Set<string> =>
  new Set(eagerOutputs(metafile, entry).flatMap((path) => Object.keys(metafile.outputs[path]?.inputs ?? {})));

/** The output files that load at start: the entry and every chunk it imports statically, transitively. */
export const eagerOutputs = (metafile: Metafile, entry = 'llmtap.js'): string[] => {
  const outputs = metafile.outputs;
  const start = Object.keys(outputs).find((path) => path.endsWith(`/${entry}`) || path === entry);
  const seen = new Set<string>();
  const visit = (path: string): void => {
    const output = outputs[path];
    if (seen.has(path) || output === undefined) return;
    seen.add(path);
    for (const imported of output.imports) if (imported.kind === 'import-statement') visit(imported.path);
  };
  if (start !== undefined) visit(start);
  return [...seen];
};

if (import.meta.main) {
  const { values } = parseArgs({ options: { outDir: { type: 'string' } }, strict: true });
  const outDir = resolve(root, values.outDir ?? 'dist');
  const metafile = await bundle(outDir);
  const files = Object.keys(metafile.outputs).length;
  const eager = eagerInputs(metafile).size;
  process.stdout.write(
    `bundled ${Object.keys(metafile.inputs).length} inputs (${eager} loaded at start) into ${files} files under ${outDir}\n`,
  );
}
