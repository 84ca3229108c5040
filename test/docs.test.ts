/** The README is part of the contract: its commands, error table and env vars must match the code. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterIds } from '../providers/index.ts';
import { helpText } from '../src/cli.ts';
import { errorCatalogue } from '../src/errors.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ciScript = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');

describe('README', () => {
  it('starts with the set-up + run commands and the test command, and CI runs that test command', () => {
    const head = readme.slice(0, 400);
    expect(head).toContain('npm ci\nnpm start');
    expect(head).toContain('npm test');
    expect(ciScript).toMatch(/^npm ci\b/m);
    expect(ciScript).toMatch(/^npm test$/m);
  });

  it('lists every error code with its status and type', () => {
    for (const [code, row] of Object.entries(errorCatalogue)) {
      const line = readme.split('\n').find((text) => text.startsWith(`| \`${code}\``));
      expect(line, code).toBeDefined();
      expect(line).toContain(`\`${row.type}\``);
      if (row.status !== 0) expect(line).toContain(`| ${row.status} |`);
    }
  });

  it('documents every LLMTAP_* environment variable the CLI knows', () => {
    const names = new Set(helpText(adapterIds).match(/LLMTAP_[A-Z_]+/g));
    expect(names.size).toBeGreaterThanOrEqual(8);
    for (const name of names) expect(readme, name).toContain(name);
  });
});
