/** `LLMTAP_MODE`, a route's `mode:`, `LLMTAP_TELEMETRY=off` and `LLMTAP_SEMCONV_COMPAT` in the config loader. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { LlmtapError } from '../../src/errors.ts';

const known = ['openai', 'anthropic', 'openai-compatible'];

const writeConfig = (text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'llmtap-modes-')), 'llmtap.yaml');
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

describe('telemetry mode', () => {
  it('defaults to full on every route, with compat off', () => {
    const config = loadConfig({}, {}, known);
    expect(config.mode).toBe('full');
    expect(config.semconvCompat).toBe('off');
    expect(config.telemetry).toBe(true);
    expect(new Set(config.routes.map((route) => route.mode))).toEqual(new Set(['full']));
  });

  it('LLMTAP_MODE sets the process mode; a route’s own mode wins for that route', () => {
    const path = writeConfig(
      'routes:\n  - {prefix: /vllm, provider: openai-compatible, upstream: "http://vllm:8000", mode: full}\n',
    );
    const config = loadConfig({ config: path }, { LLMTAP_MODE: ' Metrics ' }, known);
    expect(config.mode).toBe('metrics');
    expect(config.routes.find((r) => r.prefix === '/vllm')?.mode).toBe('full');
    expect(config.routes.find((r) => r.prefix === '/openai')?.mode).toBe('metrics');
  });

  it('LLMTAP_TELEMETRY=off is LLMTAP_MODE=off; telemetry stays on when one route still observes', () => {
    for (const value of ['off', 'false', '0']) {
      const config = loadConfig({}, { LLMTAP_TELEMETRY: value }, known);
      expect(config.mode).toBe('off');
      expect(config.telemetry).toBe(false);
    }
    expect(loadConfig({}, { LLMTAP_TELEMETRY: 'off', LLMTAP_MODE: 'off' }, known).mode).toBe('off');
    const path = writeConfig(
      'routes:\n  - {prefix: /vllm, provider: openai-compatible, upstream: "http://vllm:8000", mode: spans}\n',
    );
    const mixed = loadConfig({ config: path }, { LLMTAP_MODE: 'off' }, known);
    expect(mixed.telemetry).toBe(true);
    expect(mixed.routes.filter((r) => r.mode !== 'off').map((r) => r.prefix)).toEqual(['/vllm']);
  });

  it('an unknown mode stops start-up listing the allowed values (env and file)', () => {
    expect(errorOf(() => loadConfig({}, { LLMTAP_MODE: 'passive' }, known))).toContain(
      'env LLMTAP_MODE: expected one of full, metrics, spans, off (got "passive")',
    );
    const path = writeConfig(
      'routes:\n  - {prefix: /vllm, provider: openai-compatible, upstream: "http://vllm:8000", mode: metric}\n',
    );
    const message = errorOf(() => loadConfig({ config: path }, {}, known));
    expect(message).toContain(
      `${path}: routes[0].mode: expected one of full, metrics, spans, off (got "metric")`,
    );
  });

  it('LLMTAP_TELEMETRY=off contradicting LLMTAP_MODE is an error, not a silent choice', () => {
    expect(
      errorOf(() => loadConfig({}, { LLMTAP_TELEMETRY: 'off', LLMTAP_MODE: 'metrics' }, known)),
    ).toContain('contradicts LLMTAP_MODE=metrics');
  });
});

describe('LLMTAP_SEMCONV_COMPAT', () => {
  it('accepts off, openllmetry and openllmetry-content', () => {
    for (const value of ['off', 'openllmetry', 'openllmetry-content'] as const) {
      expect(loadConfig({}, { LLMTAP_SEMCONV_COMPAT: value }, known).semconvCompat).toBe(value);
    }
  });

  it('an unknown value stops start-up listing the allowed values, together with the other problems', () => {
    const message = errorOf(() =>
      loadConfig({}, { LLMTAP_SEMCONV_COMPAT: 'traceloop', LLMTAP_MODE: 'all' }, known),
    );
    expect(message).toContain(
      'env LLMTAP_SEMCONV_COMPAT: expected one of off, openllmetry, openllmetry-content (got "traceloop")',
    );
    expect(message).toContain('env LLMTAP_MODE: expected one of full, metrics, spans, off (got "all")');
  });
});
