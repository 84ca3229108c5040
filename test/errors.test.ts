/** One error vocabulary: every error class of llmtap is an LlmtapError with a code from src/errors.ts. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../src/capture/errors.ts';
import { errorCatalogue, LlmtapError, observationErrors } from '../src/errors.ts';
import { InjectorError } from '../src/injector/errors.ts';
import { TelemetryConfigError } from '../src/telemetry/errors.ts';

const root = new URL('..', import.meta.url).pathname;
const sources = readdirSync(join(root, 'src'), { withFileTypes: true, recursive: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
  .map((entry) => relative(root, join(entry.parentPath, entry.name)));

describe('the error catalogue', () => {
  /** Classes outside the catalogue, each with the reason it may stay. */
  const OWN_ROOTS: Readonly<Record<string, string>> = {
    'src/errors.ts': 'LlmtapError, the root',
  };

  it('is the only root: no other class in src/ extends Error without a reason', () => {
    const roots = sources.filter((file) => /\bextends Error\b/.test(readFileSync(join(root, file), 'utf8')));
    expect(roots).toContain('src/errors.ts');
    for (const file of roots) expect(OWN_ROOTS[file], `${file} defines its own error root`).toBeDefined();
  });

  it('every module error is an LlmtapError carrying a catalogued code, under its own name', () => {
    const made = [
      new CaptureError('ADAPTER_FAILED', 'x'),
      new TelemetryConfigError('LLMTAP_PRICES_INVALID', 'x'),
      new InjectorError('LLMTAP_INJECTOR_TLS', 'x'),
      new LlmtapError('LLMTAP_NO_ROUTE', 'x'),
    ];
    expect(made.map((error) => error.name)).toEqual([
      'CaptureError',
      'TelemetryConfigError',
      'InjectorError',
      'LlmtapError',
    ]);
    for (const error of made) {
      expect(error).toBeInstanceOf(LlmtapError);
      expect(error.code in errorCatalogue || error.code in observationErrors, error.code).toBe(true);
    }
  });

  it('answered codes and observation codes do not overlap, and start-up codes are never answered', () => {
    for (const code of Object.keys(observationErrors))
      expect(Object.keys(errorCatalogue)).not.toContain(code);
    for (const code of [
      'LLMTAP_TELEMETRY_ENV_INVALID',
      'LLMTAP_PRICES_INVALID',
      'LLMTAP_INJECTOR_USAGE',
    ] as const)
      expect(errorCatalogue[code].status).toBe(0);
  });

  it('adapter failures are counted under parse, their own stage, not under observer', () => {
    expect(observationErrors.ADAPTER_FAILED.stage).toBe('parse');
    expect(observationErrors.OBSERVER_FAILED.stage).toBe('observer');
  });
});
