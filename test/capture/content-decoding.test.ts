import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ContentDecoder,
  codecFor,
  codecsFor,
  createContentDecoder,
} from '../../src/capture/content-decoding.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { splitBytes } from './drive-tap.ts';

interface Run {
  readonly output: Buffer;
  readonly errors: unknown[];
  readonly decoder: ContentDecoder;
  readonly endResult: unknown;
}

const run = async (
  encoding: string | undefined,
  chunks: readonly Uint8Array[],
  maxDecodedBytes = 1 << 24,
): Promise<Run> => {
  const out: Buffer[] = [];
  const errors: unknown[] = [];
  const decoder = createContentDecoder(encoding, {
    maxDecodedBytes,
    // Copy: a decoder may hand out views of buffers it reuses.
    onData: (bytes) => out.push(Buffer.from(bytes)),
    onError: (error) => errors.push(error),
  });
  for (const chunk of chunks) decoder.push(chunk);
  const ended = decoder.end();
  const endResult = ended === undefined ? undefined : await ended;
  return { output: Buffer.concat(out), errors, decoder, endResult };
};

const text = Buffer.from(
  Array.from({ length: 200 }, (_, i) => `data: {"id":${i},"text":"héllo ✓ ${'x'.repeat(i % 17)}"}\n\n`).join(
    '',
  ),
);

const encoders: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b),
  'x-gzip': (b) => zlib.gzipSync(b),
  deflate: (b) => zlib.deflateSync(b),
  br: (b) => zlib.brotliCompressSync(b),
  zstd: (b) => zlib.zstdCompressSync(b),
};

describe('content decoding', () => {
  it('maps content-encoding values to codecs, case- and space-insensitively', () => {
    expect(codecFor(undefined)).toBe('identity');
    expect(codecFor(' Identity ')).toBe('identity');
    expect(codecFor('GZIP')).toBe('gzip');
    expect(codecFor('x-gzip')).toBe('gzip');
    expect(codecFor('br')).toBe('br');
    expect(codecFor('zstd')).toBe('zstd');
    expect(codecFor('compress')).toBeUndefined();
    expect(codecFor('gzip, br')).toBeUndefined();
    // A whole header: the codings in the order they were applied; one unknown coding makes it undecodable.
    expect(codecsFor(undefined)).toEqual([]);
    expect(codecsFor('gzip, br')).toEqual(['gzip', 'br']);
    expect(codecsFor('identity,GZIP , zstd')).toEqual(['gzip', 'zstd']);
    expect(codecsFor('gzip, compress')).toBeUndefined();
  });

  it('decodes stacked encodings in reverse order of application, any split, into the original bytes', async () => {
    const stacks: string[][] = [
      ['gzip', 'br'],
      ['br', 'gzip'],
      ['deflate', 'zstd'],
      ['gzip', 'gzip'],
      ['zstd', 'br', 'deflate'],
    ];
    for (const stack of stacks) {
      let wire: Buffer = text;
      for (const coding of stack) wire = (encoders[coding] as (b: Buffer) => Buffer)(wire);
      for (const split of ['byte', { random: 7 }] as const) {
        const out: Uint8Array[] = [];
        const errors: unknown[] = [];
        const decoder = createContentDecoder(stack.join(', '), {
          maxDecodedBytes: 1 << 20,
          onData: (b) => out.push(Buffer.from(b)),
          onError: (e) => errors.push(e),
        });
        for (const chunk of splitBytes(wire, split)) decoder.push(chunk);
        await decoder.end();
        expect(errors, stack.join(', ')).toEqual([]);
        expect(Buffer.concat(out).equals(text), stack.join(', ')).toBe(true);
        expect(decoder.truncated).toBe(false);
        expect(decoder.decodedBytes).toBe(text.length);
      }
    }
  });

  it('keeps every stage of a stacked encoding under the decode cap (a bomb inside a bomb)', async () => {
    const zeros = Buffer.alloc(8 << 20);
    const wire = zlib.brotliCompressSync(zlib.gzipSync(zeros));
    let delivered = 0;
    const decoder = createContentDecoder('gzip, br', {
      maxDecodedBytes: 64 * 1024,
      onData: (b) => {
        delivered += b.length;
      },
      onError: () => {},
    });
    decoder.push(wire);
    await decoder.end();
    expect(delivered).toBe(64 * 1024);
    expect(decoder.truncated).toBe(true);
  });

  it('decodes nothing of a stack with an unknown coding, and says so once', async () => {
    const errors: unknown[] = [];
    const out: Uint8Array[] = [];
    const decoder = createContentDecoder('gzip, compress', {
      maxDecodedBytes: 1 << 20,
      onData: (b) => out.push(b),
      onError: (e) => errors.push(e),
    });
    decoder.push(zlib.gzipSync(text));
    await decoder.end();
    expect(out).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(decoder.undecodable).toBe(true);
  });

  it('passes identity bodies through synchronously, untouched', async () => {
    const chunks = splitBytes(text, { random: 1 });
    const out: Uint8Array[] = [];
    const decoder = createContentDecoder(undefined, {
      maxDecodedBytes: 1 << 20,
      onData: (b) => out.push(b),
      onError: () => {},
    });
    for (const chunk of chunks) decoder.push(chunk);
    // Synchronous: everything arrived before end(), and end() has nothing to wait for.
    expect(Buffer.concat(out)).toEqual(text);
    expect(decoder.end()).toBeUndefined();
    expect(out[0]).toBe(chunks[0]);
  });

  for (const [encoding, encode] of Object.entries(encoders)) {
    it(`round-trips ${encoding} split anywhere`, async () => {
      const wire = encode(text);
      for (const chunking of ['whole', 'byte', { random: 5, maxChunk: 13 }] as const) {
        const result = await run(encoding, splitBytes(wire, chunking));
        expect(result.output.equals(text)).toBe(true);
        expect(result.errors).toEqual([]);
        expect(result.decoder.truncated).toBe(false);
        expect(result.decoder.decodedBytes).toBe(text.length);
      }
    });
  }

  it('decodes raw deflate sent as `deflate` (a common server mistake)', async () => {
    const result = await run('deflate', splitBytes(zlib.deflateRawSync(text), 'byte'));
    expect(result.output.equals(text)).toBe(true);
  });

  it('decodes every recorded gzip body to the recorded text', async () => {
    const fixtures = loadRecordedFixtures().filter((f) => f.response.wire_body_base64 !== undefined);
    expect(fixtures.length).toBeGreaterThan(20);
    for (const fixture of fixtures) {
      const wire = Buffer.from(fixture.response.wire_body_base64 ?? '', 'base64');
      const result = await run(
        fixture.response.headers['content-encoding'],
        splitBytes(wire, { random: 11 }),
      );
      expect(result.output.toString('utf8'), fixture.file).toBe(fixture.response.body);
      expect(result.errors, fixture.file).toEqual([]);
    }
  });

  for (const [encoding, encode] of Object.entries(encoders)) {
    it(`yields a prefix of a cut ${encoding} stream (client abort, no trailer) without reporting an error`, async () => {
      const wire = encode(text);
      for (const fraction of [0.3, 0.6, 0.95]) {
        const result = await run(
          encoding,
          splitBytes(wire.subarray(0, Math.floor(wire.length * fraction)), { size: 50 }),
        );
        expect(result.errors).toEqual([]);
        expect(result.output.length).toBeLessThan(text.length);
        expect(text.subarray(0, result.output.length).equals(result.output)).toBe(true);
      }
    });
  }

  it('reports corrupt data once, marks the copy truncated and undecodable, and still ends', async () => {
    const wire = Buffer.from(zlib.gzipSync(text));
    wire.fill(0xff, 20, 60);
    const result = await run('gzip', splitBytes(wire, { size: 16 }));
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'CONTENT_DECODING_FAILED' });
    expect(result.decoder.truncated).toBe(true);
    expect(result.decoder.undecodable).toBe(true);
  });

  it('does not decode an unsupported encoding: one error, truncated, no output', async () => {
    const result = await run('compress', [text]);
    expect(result.output.length).toBe(0);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'UNSUPPORTED_CONTENT_ENCODING' });
    expect(result.decoder).toMatchObject({ truncated: true, undecodable: true });
  });

  it('cuts identity bodies at the cap', async () => {
    const result = await run(undefined, splitBytes(text, { size: 100 }), 250);
    expect(result.output.equals(text.subarray(0, 250))).toBe(true);
    expect(result.decoder.truncated).toBe(true);
  });

  for (const encoding of Object.keys(encoders)) {
    it(`never hands on more than maxDecodedBytes of ${encoding}, whatever the cap`, async () => {
      const wire = encoders[encoding]?.(text) ?? Buffer.alloc(0);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: text.length + 10 }), async (cap) => {
          const result = await run(encoding, splitBytes(wire, { random: cap, maxChunk: 64 }), cap);
          expect(result.output.length).toBe(Math.min(cap, text.length));
          expect(result.output.equals(text.subarray(0, result.output.length))).toBe(true);
          expect(result.decoder.truncated).toBe(cap < text.length);
        }),
        { numRuns: 15 },
      );
    });
  }

  it('stops a gzip bomb (1 GiB of zeros in ~1 MiB) at the cap and stops inflating', async () => {
    // Built cheaply: gzip allows concatenated members, so one 16 MiB-of-zeros member is repeated 64 times.
    const member = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    expect(bomb.length).toBeLessThan(4 * 1024 * 1024);
    const cap = 8 * 1024 * 1024;
    let delivered = 0;
    let callsAfterCap = 0;
    const decoder = createContentDecoder('gzip', {
      maxDecodedBytes: cap,
      onData: (bytes) => {
        if (delivered >= cap) callsAfterCap += 1;
        delivered += bytes.length;
      },
      onError: (error) => {
        throw error;
      },
    });
    for (const chunk of splitBytes(bomb, { size: 64 * 1024 })) decoder.push(chunk);
    await decoder.end();
    expect(delivered).toBe(cap);
    expect(callsAfterCap).toBe(0);
    expect(decoder.truncated).toBe(true);
    expect(decoder.decodedBytes).toBe(cap);
  });
});
