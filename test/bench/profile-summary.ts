/**
 * Summarises a `.cpuprofile` (from `npm run bench -- --cpu-prof`): self time by function and by file, and
 * inclusive time per llmtap file, as shares of the process's busy time, so the hot spots on the
 * per-request and per-chunk paths show without opening DevTools.
 *   npx node test/bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const shortUrl = (url: string): string =>
  url
    .replace(/^file:\/\/.*?\/node_modules\//, 'nm:')
    .replace(/^file:\/\/.*?\/(build\/)?(src|providers|test)\//, '$2/')
    .replace(/^node:/, 'node:');

const add = (map: Map<string, number>, key: string, us: number): void => {
  map.set(key, (map.get(key) ?? 0) + us);
};

export const summarizeProfile = (file: string, top = 25): string => {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const idleIds = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
  );
  const sampled = [...selfUs.values()].reduce((a, b) => a + b, 0);
  // Percentages are of busy time: the idle share only says how long the process waited for load.
  const total = [...selfUs].filter(([id]) => !idleIds.has(id)).reduce((a, [, us]) => a + us, 0);

  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined || idleIds.has(id)) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '(native)' : `${shortUrl(url)}:${lineNumber + 1}`;
    add(byFunction, `${functionName || '(anonymous)'} ${where}`, us);
    add(byFile, url === '' ? functionName || '(native)' : shortUrl(url), us);
  }

  // Inclusive time per own-code file: a sample counts for every distinct src/providers file on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const url = byId.get(at)?.callFrame.url ?? '';
      if (/\/(src|providers)\//.test(url)) seen.add(shortUrl(url));
    }
    for (const key of seen) add(inclusive, key, us);
  }

  const lines = [
    `${file}: ${(sampled / 1000).toFixed(0)} ms sampled, ${(total / 1000).toFixed(0)} ms busy (percentages of busy)`,
  ];
  const section = (title: string, map: Map<string, number>): void => {
    lines.push(`\n${title}`);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      lines.push(
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`,
      );
    }
  };
  section('self time by function', byFunction);
  section('self time by file', byFile);
  section('inclusive time by llmtap file (src/, providers/)', inclusive);
  return lines.join('\n');
};

if (import.meta.main) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(file, Number(process.argv[3] ?? 25)));
}
