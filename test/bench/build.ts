/**
 * `--built`: measure what the container image runs (the esbuild bundle `node dist/llmtap.js`, built by
 * `scripts/bundle.ts` exactly as `npm run build` does) rather than the sources through Node's type stripping,
 * which loads a TypeScript stripper (~14 MB RSS) into the process. The bare anchor is stripped the same way so
 * both sides stay comparable. Output goes under results/ (git-ignored).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../scripts/bundle.ts';

export interface Built {
  readonly cli: string;
  readonly bare: string;
  readonly warnings: readonly string[];
}

export const buildForBench = async (resultsDir: string): Promise<Built> => {
  const out = join(resultsDir, 'build');
  const cli = join(out, 'llmtap.js');
  const warnings: string[] = [];
  await bundle(out);
  mkdirSync(out, { recursive: true });
  const bare = join(out, 'bare-proxy.mjs');
  const source = readFileSync(fileURLToPath(new URL('./bare-proxy.ts', import.meta.url)), 'utf8');
  writeFileSync(bare, stripTypeScriptTypes(source, { mode: 'strip' }));
  return { cli, bare, warnings };
};
