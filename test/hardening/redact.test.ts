/** The redactor is the second line of defence for free text (error messages, stack frames, URLs). */
import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from '../../src/redact.ts';

const cases: readonly (readonly [string, string, string])[] = [
  ['bearer token', 'upstream said: Bearer sk-proj-SECRET0123456789', 'SECRET0123456789'],
  ['openai key', 'Incorrect API key provided: sk-proj-SECRET0123456789.', 'SECRET0123456789'],
  ['anthropic key', 'key sk-ant-api03-SECRET0123456789', 'SECRET0123456789'],
  ['google key', 'AIzaSySECRET0123456789abcdefghijk is invalid', 'SECRET0123456789'],
  ['?key= query', 'GET /v1beta/models/x:generateContent?alt=sse&key=SECRETquery01', 'SECRETquery01'],
  [
    'SigV4 Credential=',
    'Credential=AKIASECRETACCESS01/20260101/us-east-1/bedrock/aws4_request',
    'SECRETACCESS01',
  ],
  ['SigV4 Signature=', 'SignedHeaders=host, Signature=0f1e2d3cSECRETsig', 'SECRETsig'],
  ['shapeless x-api-key value', 'rejected (x-api-key SECRETshapeless01)', 'SECRETshapeless01'],
  ['shapeless api-key header line', 'api-key: SECRETazure0123', 'SECRETazure0123'],
  ['x-goog-api-key in JSON', '{"x-goog-api-key":"SECRETgoog0123"}', 'SECRETgoog0123'],
  ['cookie header line', 'cookie: session=SECRETcookie01; theme=dark', 'SECRETcookie01'],
  ['authorization with a shapeless scheme', 'authorization: Token SECRETtoken0123', 'SECRETtoken0123'],
  [
    'authorization with SigV4',
    'Authorization: AWS4-HMAC-SHA256 Credential=SECRETak/2026, Signature=SECRETsig',
    'SECRET',
  ],
];

describe('redactText', () => {
  for (const [name, text, secret] of cases) {
    it(`removes a ${name}`, () => {
      const out = redactText(text);
      expect(out).not.toContain(secret);
      expect(out).toContain('REDACTED');
    });
  }

  it('leaves text without credentials alone', () => {
    for (const text of [
      'request',
      'upstream 127.0.0.1:8080: connect ECONNREFUSED',
      'gpt-4o-mini',
      '/v1/chat/completions',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it('redactUrl drops userinfo and credential parameters', () => {
    const out = redactUrl('http://user:SECRETpass@proxy.internal:3128/path?key=SECRETkey&x=1');
    expect(out).not.toContain('SECRET');
    expect(out).toContain('x=1');
  });
});
