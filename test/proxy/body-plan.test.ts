import { describe, expect, it } from 'vitest';
import type { Limits } from '../../src/config/schema.ts';
import { planRequestBody, readAheadBytes } from '../../src/proxy/body-plan.ts';

// Only the fields the plan reads; the read-ahead size is 256 KiB (262,144 bytes).
const limits = { maxInjectBodyBytes: 4 * 1024 * 1024, maxSignedBodyBytes: 32 * 1024 * 1024 } as Limits;

describe('planRequestBody', () => {
  const cases: [string, Record<string, string>, boolean, unknown][] = [
    ['no framing header', {}, false, { read: 'none' }],
    ['Content-Length: 0', { 'content-length': '0' }, false, { read: 'none' }],
    ['a small body', { 'content-length': '100' }, false, { read: 'whole', length: 100 }],
    ['exactly the read-ahead', { 'content-length': '262144' }, false, { read: 'whole', length: 262144 }],
    ['one byte over the read-ahead', { 'content-length': '262145' }, false, { read: 'stream' }],
    [
      'over the read-ahead, injecting',
      { 'content-length': '262145' },
      true,
      { read: 'whole', length: 262145 },
    ],
    ['exactly the injection cap', { 'content-length': '4194304' }, true, { read: 'whole', length: 4194304 }],
    ['over the injection cap', { 'content-length': '4194305' }, true, { read: 'stream' }],
    ['chunked', { 'transfer-encoding': 'chunked' }, false, { read: 'chunked-prefix', cap: 262144 }],
    [
      'chunked, injecting',
      { 'transfer-encoding': 'chunked' },
      true,
      { read: 'chunked-prefix', cap: 4194304 },
    ],
  ];
  for (const [name, headers, injecting, expected] of cases) {
    it(name, () => {
      expect(planRequestBody(headers, readAheadBytes(limits, injecting, false))).toEqual(expected);
    });
  }

  it('an injection cap below the read-ahead never shrinks the read-ahead', () => {
    const small = { maxInjectBodyBytes: 1000, maxSignedBodyBytes: 1000 } as Limits;
    expect(planRequestBody({ 'content-length': '5000' }, readAheadBytes(small, true, true))).toEqual({
      read: 'whole',
      length: 5000,
    });
  });

  it('a re-signed body is read whole up to the signing cap (its hash is signed), beyond it streamed', () => {
    const signed = readAheadBytes(limits, false, true);
    expect(planRequestBody({ 'content-length': String(20 * 1024 * 1024) }, signed)).toEqual({
      read: 'whole',
      length: 20 * 1024 * 1024,
    });
    expect(planRequestBody({ 'content-length': String(32 * 1024 * 1024 + 1) }, signed)).toEqual({
      read: 'stream',
    });
    expect(planRequestBody({ 'transfer-encoding': 'chunked' }, signed)).toEqual({
      read: 'chunked-prefix',
      cap: 32 * 1024 * 1024,
    });
  });
});
