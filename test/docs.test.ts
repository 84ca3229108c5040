/**
 * The README is part of the contract: its commands, error table and env vars must match the code. What is checked
 * is read from the README itself (its table rows, its sentences), and the code side from the source text, not from
 * the help text or constants that document the same facts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterIds } from '../providers/index.ts';
import { helpText } from '../src/cli.ts';
import { errorCatalogue, observationErrors } from '../src/errors.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ciScript = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
const root = new URL('..', import.meta.url).pathname;
const sources = readdirSync(join(root, 'src'), { withFileTypes: true, recursive: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
  .map((entry) => relative(root, join(entry.parentPath, entry.name)));

describe('README', () => {
  it('starts with the set-up + run commands and the test command, and CI runs that test command', () => {
    const head = readme.slice(0, 400);
    expect(head).toContain('npm ci\nnpm start');
    expect(head).toContain('npm test');
    expect(ciScript).toMatch(/^(step '[^']*' )?npm ci\b/m);
    expect(ciScript).toMatch(/^(step '[^']*' )?npm test$/m);
  });

  it('the error table, read from the README, is the catalogue: same codes, statuses and types', () => {
    const rows = readme
      .split('\n')
      .map((line) => /^\| `(LLMTAP_[A-Z_]+)` \| (\d+|—) \| `([a-z_]+)` \|/.exec(line))
      .filter((match) => match !== null)
      .map(([, code, status, type]) => [code, status === '—' ? 0 : Number(status), type]);
    expect(rows.length).toBeGreaterThanOrEqual(10);
    const catalogue = Object.entries(errorCatalogue).map(([code, row]) => [code, row.status, row.type]);
    expect(rows.sort()).toEqual(catalogue.sort());
  });

  it('the observation failure codes the README names are the ones llmtap reports', () => {
    const sentence = /carry one\s+of these codes: ([^.]+)\./.exec(readme)?.[1] ?? '';
    const documented = [...sentence.matchAll(/`([A-Z_]+)`/g)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(observationErrors).sort());
  });

  it('every LLMTAP_* name in the code is in the README, and every one the README names exists in the code', () => {
    // Read from the source text itself (env reads, flags, codes), not from the help text that documents it.
    const sourceText = sources.map((file) => readFileSync(join(root, file), 'utf8')).join('\n');
    const names = (text: string): Set<string> =>
      new Set([...text.matchAll(/\bLLMTAP_[A-Z0-9_]*[A-Z0-9]\b/g)].map((match) => match[0]));
    const inCode = names(sourceText);
    const inReadme = names(readme);
    expect(inCode.size).toBeGreaterThanOrEqual(20);
    expect([...inCode].filter((name) => !inReadme.has(name))).toEqual([]);
    expect([...inReadme].filter((name) => !inCode.has(name))).toEqual([]);
  });

  it('the CLI help names no LLMTAP_* variable the README lacks', () => {
    const names = new Set(helpText(adapterIds).match(/LLMTAP_[A-Z_]+/g));
    expect(names.size).toBeGreaterThanOrEqual(8);
    for (const name of names) expect(readme, name).toContain(name);
  });
});
