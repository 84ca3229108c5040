/**
 * vitest global setup: every test run gets its own temporary directory (TMPDIR, so `os.tmpdir()` in the
 * test workers and in the processes they spawn), removed when the run ends. Tests create config files,
 * certificates and podinfo directories; without this a run left hundreds of directories in /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const setup = (): (() => void) => {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-test-run-'));
  // Set before the workers fork, so they (and their children) inherit it.
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
};
