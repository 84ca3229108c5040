/**
 * `--built`: measure what the container image runs (compiled JS, `node dist/src/cli.js`) rather than the
 * sources through Node's type stripping, which loads a TypeScript stripper (~14 MB RSS) into the process.
 * The bare anchor is stripped the same way so both sides stay comparable. Output goes under results/
 * (git-ignored, inside the repo so `node_modules` resolves).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO } from './llmtap.ts';

export interface Built {
  readonly cli: string;
  readonly bare: string;
  readonly warnings: readonly string[];
}

export const buildForBench = (resultsDir: string): Built => {
  const out = join(resultsDir, 'build');
  const cli = join(out, 'src', 'cli.js');
  const warnings: string[] = [];
  rmSync(out, { recursive: true, force: true });
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', out], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    });
  } catch (error) {
    // tsc still emits when a file has type errors (someone's work in progress): go on when the CLI was
    // written, and say so; fail when nothing usable came out.
    const output = String((error as { stdout?: unknown }).stdout ?? '').trim();
    if (!existsSync(cli)) throw new Error(`build for --built failed:\n${output.slice(0, 2000)}`);
    warnings.push(
      `tsc reported errors while building for --built (output used): ${output.split('\n')[0] ?? ''}`,
    );
  }
  mkdirSync(out, { recursive: true });
  const bare = join(out, 'bare-proxy.mjs');
  const source = readFileSync(fileURLToPath(new URL('./bare-proxy.ts', import.meta.url)), 'utf8');
  writeFileSync(bare, stripTypeScriptTypes(source, { mode: 'strip' }));
  return { cli, bare, warnings };
};
