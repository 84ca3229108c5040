/** Response header filtering: hop-by-hop rules, casing, order, and the lower-cased map observers get. */
import { describe, expect, it } from 'vitest';
import { clientResponseHeaders } from '../../src/proxy/headers.ts';

const raw = (...pairs: string[]): Buffer[] => pairs.map((text) => Buffer.from(text, 'latin1'));

describe('clientResponseHeaders', () => {
  it('keeps end-to-end headers in order and casing, repeated ones included', () => {
    const headers = clientResponseHeaders(
      raw('Content-Type', 'text/event-stream', 'X-Request-Id', 'a', 'Set-Cookie', 'x=1', 'set-cookie', 'y=2'),
    );
    expect(headers).toEqual([
      'Content-Type',
      'text/event-stream',
      'X-Request-Id',
      'a',
      'Set-Cookie',
      'x=1',
      'set-cookie',
      'y=2',
    ]);
  });

  it('drops hop-by-hop headers and every name listed in any Connection header', () => {
    const headers = clientResponseHeaders(
      raw(
        'Connection',
        'keep-alive, X-Hop-One',
        'X-Hop-One',
        '1',
        'Keep-Alive',
        'timeout=5',
        'X-Kept',
        'k',
        'connection',
        'x-hop-two',
        'X-HOP-TWO',
        '2',
        'Transfer-Encoding',
        'chunked',
        'Proxy-Authenticate',
        'Basic',
      ),
    );
    expect(headers).toEqual(['X-Kept', 'k']);
  });

  it('drops the extra names asked for', () => {
    const drop = new Set(['content-length']);
    expect(clientResponseHeaders(raw('Content-Length', '12', 'X-A', '1'), drop)).toEqual(['X-A', '1']);
  });

  it('fills the lower-cased map with every header (hop-by-hop and dropped ones too), repeats joined', () => {
    const lowerCased: Record<string, string> = {};
    clientResponseHeaders(
      raw('Content-Length', '12', 'Connection', 'close', 'X-A', '1', 'x-a', '2'),
      new Set(['content-length']),
      lowerCased,
    );
    expect(lowerCased).toEqual({ 'content-length': '12', connection: 'close', 'x-a': '1, 2' });
  });

  it('accepts string header lists', () => {
    expect(clientResponseHeaders(['X-A', '1', 'Upgrade', 'h2c'])).toEqual(['X-A', '1']);
  });
});
