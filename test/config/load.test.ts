/** The config loader: defaults, precedence, built-in routes, and error messages that say what is wrong where. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRoutes } from '../../src/config/builtin-routes.ts';
import { loadConfig, parseDuration } from '../../src/config/load.ts';
import { LlmtapError } from '../../src/errors.ts';

const known = ['openai', 'anthropic', 'gemini', 'openai-compatible', 'ollama'];

const writeConfig = (text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'llmtap-config-')), 'llmtap.yaml');
  writeFileSync(path, text);
  return path;
};

const errorOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LlmtapError);
    expect((error as LlmtapError).code).toBe('LLMTAP_CONFIG_INVALID');
    return (error as Error).message;
  }
  throw new Error('expected a config error');
};

describe('loadConfig', () => {
  it('adds a re-signing /bedrock route for the region in AWS_REGION (else AWS_DEFAULT_REGION), none without one', () => {
    const bedrock = (env: Record<string, string>) =>
      loadConfig({}, env, known).routes.find((route) => route.prefix === '/bedrock');
    expect(bedrock({ AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'us-east-1' })).toMatchObject({
      provider: 'bedrock',
      upstream: 'https://bedrock-runtime.eu-central-1.amazonaws.com',
      signing: 'aws-sigv4',
    });
    expect(bedrock({ AWS_DEFAULT_REGION: 'us-west-2' })?.upstream).toBe(
      'https://bedrock-runtime.us-west-2.amazonaws.com',
    );
    expect(bedrock({})).toBeUndefined();
    expect(bedrock({ AWS_REGION: 'not a region' })).toBeUndefined();
  });

  it('starts with built-in defaults and routes when there is no file', () => {
    const config = loadConfig({}, {}, known);
    expect(config.listen).toBe('127.0.0.1:4545');
    expect(config.admin).toBe('0.0.0.0:4546');
    expect(config.timeouts.drainMs).toBe(30_000);
    expect(config.timeouts.idleMs).toBe(600_000);
    expect(config.telemetry).toBe(true);
    expect(config.routes.map((route) => route.prefix).sort()).toEqual(
      builtinRoutes.map((route) => route.prefix).sort(),
    );
    for (const prefix of [
      '/openai',
      '/anthropic',
      '/gemini',
      '/mistral',
      '/cohere',
      '/groq',
      '/deepseek',
      '/together',
      '/openrouter',
      '/xai',
    ]) {
      expect(
        config.routes.some((route) => route.prefix === prefix),
        prefix,
      ).toBe(true);
    }
    expect(Object.isFrozen(config.routes[0])).toBe(true);
  });

  it('extends built-in routes with file routes and lets a file route replace a built-in prefix', () => {
    const path = writeConfig(`
routes:
  - prefix: /openai
    provider: openai
    upstream: https://openai-gateway.internal.example
  - prefix: /vllm
    provider: openai-compatible
    providerName: vllm
    upstream: http://vllm.models.svc:8000
`);
    const config = loadConfig({ config: path }, {}, known);
    const openai = config.routes.filter((route) => route.prefix === '/openai');
    expect(openai).toHaveLength(1);
    expect(openai[0]?.upstream).toBe('https://openai-gateway.internal.example');
    expect(config.routes.find((route) => route.prefix === '/vllm')?.providerName).toBe('vllm');
    expect(config.routes.find((route) => route.prefix === '/anthropic')).toBeDefined();
  });

  it('takes flags over env over the file', () => {
    const path = writeConfig('listen: 127.0.0.1:1111\nadmin: 127.0.0.1:2222\n');
    const env = { LLMTAP_LISTEN: '127.0.0.1:3333', LLMTAP_DRAIN_TIMEOUT: '5s', LLMTAP_TELEMETRY: 'off' };
    const config = loadConfig({ config: path, listen: '127.0.0.1:4444' }, env, known);
    expect(config.listen).toBe('127.0.0.1:4444');
    expect(config.admin).toBe('127.0.0.1:2222');
    expect(config.timeouts.drainMs).toBe(5000);
    expect(config.telemetry).toBe(false);
    expect(loadConfig({}, { LLMTAP_CONFIG: path }, known).listen).toBe('127.0.0.1:1111');
  });

  it('names the key path, the bad value and what is allowed', () => {
    const path = writeConfig(`
listen: localhost
routes:
  - prefix: openai
    provider: openai
    upstream: ftp://example.com
  - prefix: /x
    provider: no-such-provider
    upstream: https://x.example
    colour: blue
`);
    const message = errorOf(() => loadConfig({ config: path }, {}, known));
    expect(message).toContain(`${path}: listen: expected host:port`);
    expect(message).toContain('(got "localhost")');
    expect(message).toContain('routes[0].prefix: expected a path prefix like /openai');
    expect(message).toContain(
      'routes[0].upstream: expected an http:// or https:// URL (got "ftp://example.com")',
    );
    expect(message).toContain('routes[1]: Unrecognized key');
    expect(message).toContain('colour');
  });

  it('rejects an unknown provider id and lists the known ones', () => {
    const path = writeConfig('routes:\n  - {prefix: /x, provider: nope, upstream: "https://x.example"}\n');
    const message = errorOf(() => loadConfig({ config: path }, {}, known));
    expect(message).toContain(
      'routes[0].provider: unknown provider (got "nope"); known: openai, anthropic, gemini',
    );
  });

  it('reports unreadable files, invalid YAML, and bad env values', () => {
    expect(errorOf(() => loadConfig({ config: '/nonexistent/llmtap.yaml' }, {}, known))).toContain(
      'cannot read config file /nonexistent/llmtap.yaml',
    );
    expect(errorOf(() => loadConfig({ config: writeConfig('routes: [unclosed') }, {}, known))).toContain(
      'is not valid YAML',
    );
    expect(errorOf(() => loadConfig({ config: writeConfig('- a\n- b\n') }, {}, known))).toContain(
      'must be a YAML mapping',
    );
    expect(errorOf(() => loadConfig({}, { LLMTAP_DRAIN_TIMEOUT: 'soon' }, known))).toContain(
      'env LLMTAP_DRAIN_TIMEOUT: expected a duration like 30s, 500ms or 2m (got "soon")',
    );
    expect(errorOf(() => loadConfig({}, { LLMTAP_LOG_LEVEL: 'loud' }, known))).toContain('logLevel');
  });

  it('rejects duplicate prefixes and upstreams with credentials or queries', () => {
    const path = writeConfig(`
routes:
  - {prefix: /a, provider: openai, upstream: "https://user:pw@x.example"}
  - {prefix: /b, provider: openai, upstream: "https://x.example?key=1"}
  - {prefix: /b, provider: openai, upstream: "https://y.example"}
`);
    const message = errorOf(() => loadConfig({ config: path }, {}, known));
    expect(message).toContain(
      'routes[0].upstream: the upstream URL must not carry a query, fragment or credentials',
    );
    expect(message).toContain('routes[1].upstream');
    expect(message).toContain('routes[2].prefix: duplicate prefix (got "/b")');
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['45', 45_000],
    ['1.5s', 1500],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '-1s', '10 days'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
