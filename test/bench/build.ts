/**
 * `--built`: measure what the container image runs (compiled JS, `node dist/src/cli.js`) rather than the
 * sources through Node's type stripping, which loads a TypeScript stripper (~14 MB RSS) into the process.
 * The bare anchor is stripped the same way so both sides stay comparable. Output goes under results/
 * (git-ignored, inside the repo so `node_modules` resolves).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO } from './llmtap.ts';

export interface Built {
  readonly cli: string;
  readonly bare: string;
}

export const buildForBench = (resultsDir: string): Built => {
  const out = join(resultsDir, 'build');
  rmSync(out, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [
      join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(REPO, 'tsconfig.build.json'),
      '--outDir',
      out,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 },
  );
  mkdirSync(out, { recursive: true });
  const bare = join(out, 'bare-proxy.mjs');
  const source = readFileSync(fileURLToPath(new URL('./bare-proxy.ts', import.meta.url)), 'utf8');
  writeFileSync(bare, stripTypeScriptTypes(source, { mode: 'strip' }));
  return { cli: join(out, 'src', 'cli.js'), bare };
};
