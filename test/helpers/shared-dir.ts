/**
 * Where the workspace's read-only reference material (`shared/`: vendored charts, contracts) sits: beside the
 * repository (`../shared`, the main checkout) or two levels up (a worktree under `wt/<name>`), or wherever
 * `LLMTAP_SHARED_DIR` says. A clone elsewhere has none; tests that need it skip and say why.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..', '..');

export const sharedDir = (): string | undefined => {
  const candidates = [
    process.env.LLMTAP_SHARED_DIR,
    join(repoRoot, '..', 'shared'),
    join(repoRoot, '..', '..', 'shared'),
  ];
  return candidates.find((dir) => dir !== undefined && dir !== '' && existsSync(join(dir, 'vendor')));
};

/** A path under `shared/vendor/`, or undefined (with the reason for a skip message) when it is absent. */
export const sharedVendor = (relative: string): { path: string | undefined; reason: string } => {
  const dir = sharedDir();
  const path = dir === undefined ? undefined : join(dir, 'vendor', relative);
  return {
    path: path !== undefined && existsSync(path) ? path : undefined,
    reason: `skipped: ../shared/vendor/${relative} is absent (a clone outside the llmtap workspace; set LLMTAP_SHARED_DIR)`,
  };
};
