import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDockerfile, type Stage } from './dockerfile.ts';
import { repoRoot } from './kubectl.ts';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1) as Stage;
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  engines: { node: string };
};
const all = (stage: Stage, keyword: string): string[] =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('is multi-stage, on an official Node 24 image pinned to an exact version', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      expect(stage.from).toMatch(
        /^(?:node:24\.\d+\.\d+-(?:bookworm|trixie)-slim|gcr\.io\/distroless\/nodejs24-debian1\d:nonroot@sha256:[0-9a-f]{64})$/,
      );
    }
    // The tests run on the same Node as the image (the `node` dev dependency).
    const devNode = (
      JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'node', 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    expect(runtime.from).toContain(`node:${devNode}-`);
  });

  it('runs as a numeric non-root UID that matches the manifests', () => {
    const users = all(runtime, 'USER');
    expect(users).toHaveLength(1);
    const match = /^(\d+)(?::(\d+))?$/.exec(users[0] ?? '');
    expect(match).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThan(0);
    const sidecar = readFileSync(join(repoRoot, 'deploy/components/llmtap-sidecar/sidecar.yaml'), 'utf8');
    const doc = parseYaml(sidecar) as {
      spec: {
        template: {
          spec: { initContainers: Array<{ securityContext: { runAsUser: number; runAsGroup: number } }> };
        };
      };
    };
    const sc = doc.spec.template.spec.initContainers[0]?.securityContext;
    expect(sc?.runAsUser).toBe(Number(match?.[1]));
    expect(sc?.runAsGroup).toBe(Number(match?.[2]));
  });

  it('runs the production bundle alone: no node_modules in the runtime stage', () => {
    // scripts/bundle.ts puts the production dependencies into dist/ and refuses a dev-only input
    // (test/deploy/bundle.test.ts); the runtime installs and copies no node_modules.
    const copies = all(runtime, 'COPY');
    expect(copies.filter((c) => /node_modules/.test(c))).toEqual([]);
    expect(all(runtime, 'RUN')).toEqual([]);
    const dist = copies.find((c) => /^--from=\S+\s+\/app\/dist\s/.test(c));
    const fromStage = /--from=(\S+)/.exec(dist ?? '')?.[1];
    const buildStage = stages.find((s) => s.name === fromStage);
    expect(all(buildStage as Stage, 'RUN').some((r) => r.includes('npm run build'))).toBe(true);
    expect(pkg.scripts.build).toMatch(/scripts\/bundle\.ts/);
    // Nothing copied wholesale from the build context.
    for (const c of copies) expect(c).not.toMatch(/^\.\s/);
  });

  it('builds with the npm scripts a test can run without Docker', () => {
    const build = stages.find((s) => all(s, 'RUN').some((r) => r.includes('npm run build')));
    expect(build).toBeDefined();
    expect(pkg.scripts.build).toBeDefined();
    expect(all(runtime, 'COPY').some((c) => /--from=\S+\s+\/app\/dist\s/.test(c))).toBe(true);
  });

  it('enters through the llmtap CLI in exec form, so SIGTERM reaches Node', () => {
    const entry = all(runtime, 'ENTRYPOINT');
    expect(pkg.bin.llmtap).toBe('./dist/llmtap.js');
    expect(entry).toHaveLength(1);
    const argv = JSON.parse(entry[0] ?? '') as string[];
    expect(argv[0]).toBe('node');
    expect(argv[1]).toBe(`/app/${(pkg.bin.llmtap ?? '').replace(/^\.\//, '')}`);
    expect(all(runtime, 'CMD')).toEqual([]);
  });

  it("sets the sidecar manifest's runtime settings (NODE_OPTIONS and any runtime env var) to the same values", () => {
    // `ENV NAME=value` or `ENV NAME="value with spaces"`, one variable per instruction.
    const env = new Map(
      all(runtime, 'ENV').map((e) => {
        const match = /^([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))$/.exec(e);
        expect(match, `ENV ${e}: one NAME=value per instruction`).not.toBeNull();
        return [match?.[1] ?? '', match?.[2] ?? match?.[3] ?? ''] as const;
      }),
    );
    const sidecar = readFileSync(join(repoRoot, 'deploy/components/llmtap-sidecar/sidecar.yaml'), 'utf8');
    const doc = parseYaml(sidecar) as {
      spec: {
        template: { spec: { initContainers: Array<{ env: Array<{ name: string; value?: string }> }> } };
      };
    };
    const runtimeVars = (doc.spec.template.spec.initContainers[0]?.env ?? []).filter(
      (v) => v.value !== undefined && !/^(LLMTAP_|OTEL_|K8S_)/.test(v.name),
    );
    expect(runtimeVars.map((v) => v.name)).toContain('NODE_OPTIONS');
    for (const v of runtimeVars) expect(env.get(v.name), v.name).toBe(v.value);
  });

  it('exposes the data and admin ports', () => {
    const ports = all(runtime, 'EXPOSE').flatMap((e) => e.split(/\s+/));
    expect(ports).toEqual(expect.arrayContaining(['4545', '4546']));
  });

  it('ships the sidecar template the injector reads, and every COPY source exists', () => {
    const buildContext = stages.flatMap((s) => all(s, 'COPY')).filter((c) => !c.startsWith('--from='));
    for (const copy of buildContext) {
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const src of sources) expect(existsSync(join(repoRoot, src)), src).toBe(true);
    }
    expect(all(runtime, 'COPY').join('\n')).toContain('deploy/components/llmtap-sidecar/sidecar.yaml');
  });

  it('has a .dockerignore that admits only what the COPY steps use', () => {
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    expect(ignore).toContain('**');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    const buildContext = stages.flatMap((s) => all(s, 'COPY')).filter((c) => !c.startsWith('--from='));
    for (const copy of buildContext) {
      for (const src of copy.split(/\s+/).slice(0, -1))
        expect(allowed, src).toContain(src.replace(/\/$/, ''));
    }
    expect(allowed.some((a) => /node_modules|\.git|dist|test/.test(a))).toBe(false);
  });
});
