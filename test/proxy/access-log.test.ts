import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { AccessLog } from '../../src/proxy/access-log.ts';
import type { ExchangeFacts } from '../../src/proxy/exchange.ts';
import { compileRoute } from '../../src/proxy/router.ts';
import { now } from '../../src/proxy/tap.ts';

const route = compileRoute({
  prefix: '/openai',
  provider: 'openai',
  upstream: 'https://api.example.com/v1',
} as never);

const facts = (over: Partial<ExchangeFacts> = {}): ExchangeFacts => ({
  method: 'POST',
  match: { route, upstreamPath: '/v1/chat/completions', search: '?x=1' },
  startedAt: now() - 12.5,
  status: 200,
  bytesIn: 10,
  bytesOut: 20,
  ...over,
});

const capture = (level: 'info' | 'warn' = 'info') => {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => lines.push(line) }, 1 << 20, false);
  return { lines, logger, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
};

describe('AccessLog', () => {
  it('is off when info lines are dropped', () => {
    expect(AccessLog.for(capture('warn').logger)).toBeUndefined();
    expect(AccessLog.for(capture('info').logger)).toBeInstanceOf(AccessLog);
  });

  it('writes one request line with the exchange facts, in a fixed order, without the query', () => {
    const { logger, parsed } = capture();
    new AccessLog(logger).exchangeEnded(facts(), true, undefined);
    const [line] = parsed();
    const { level, time, durationMs, ...rest } = line as Record<string, unknown>;
    expect(level).toBe('info');
    expect(typeof time).toBe('string');
    expect(durationMs).toBeGreaterThanOrEqual(12.5);
    expect(Object.keys(line ?? {})).toEqual([
      'level',
      'time',
      'msg',
      'method',
      'route',
      'path',
      'upstream',
      'status',
      'durationMs',
      'bytesIn',
      'bytesOut',
    ]);
    expect(rest).toEqual({
      msg: 'request',
      method: 'POST',
      route: '/openai',
      path: '/v1/chat/completions',
      upstream: 'api.example.com',
      status: 200,
      bytesIn: 10,
      bytesOut: 20,
    });
  });

  it('adds the transport error, then the observers fields; status 0 when nothing answered', () => {
    const { logger, parsed } = capture();
    new AccessLog(logger).write(
      facts({ status: undefined }),
      { 'gen_ai.request.model': 'gpt-x' },
      'ECONNREFUSED',
    );
    const [line] = parsed();
    expect(line?.status).toBe(0);
    expect(Object.keys(line ?? {}).slice(-2)).toEqual(['error', 'gen_ai.request.model']);
    expect(line?.error).toBe('ECONNREFUSED');
    expect(line?.['gen_ai.request.model']).toBe('gpt-x');
  });

  it('adds the observers fields after the exchange facts, in their order', () => {
    const { logger, parsed } = capture();
    new AccessLog(logger).write(
      facts(),
      { provider: 'openai', inputTokens: 3, costUsd: undefined },
      undefined,
    );
    const [line] = parsed();
    expect(Object.keys(line ?? {}).slice(-3)).toEqual(['bytesOut', 'provider', 'inputTokens']);
    expect(line?.provider).toBe('openai');
    expect(line?.inputTokens).toBe(3);
  });
});
