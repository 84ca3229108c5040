/**
 * The streaming-usage response filter against its reference (the per-event implementation it replaced,
 * ./usage-filter-reference.ts): every push and the flush must give the same bytes, over every recorded SSE body
 * (as recorded, with the option's additions synthesised into each data event, with CRLF and CR line ends), split
 * at every point or at random, and over generated streams of near-miss members.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterEvent, UsageFilter } from '../../providers/stream-usage.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { ReferenceUsageFilter, referenceFilterEvent } from './usage-filter-reference.ts';

interface Filter {
  push(chunk: Uint8Array): Uint8Array;
  flush(): Uint8Array;
}

/** Each push's output (copied at once, as a writer may keep it) and the flush. */
const run = (filter: Filter, chunks: readonly Uint8Array[]): string[] => {
  const out = chunks.map((chunk) => Buffer.from(filter.push(chunk.slice())).toString('latin1'));
  out.push(Buffer.from(filter.flush()).toString('latin1'));
  return out;
};

const same = (bytes: Uint8Array, cuts: readonly number[], label: string): void => {
  const points = [
    ...new Set([0, ...cuts.map((c) => Math.min(Math.max(c, 0), bytes.length)), bytes.length]),
  ].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i + 1 < points.length; i++) chunks.push(bytes.subarray(points[i], points[i + 1]));
  expect(run(new UsageFilter(), chunks), label).toEqual(run(new ReferenceUsageFilter(), chunks));
};

/** The option's additions in every data event: `"usage":null` at a varying spot, and a usage-only chunk. */
const withAdditions = (body: string): string =>
  body.replace(/^data: ?\{(.*)\}$/gm, (_line, inner: string, offset: number) => {
    const spot = offset % 3;
    if (spot === 0) return `data: {${inner},"usage":null}`;
    if (spot === 1) return `data: {"usage" : null , ${inner}}`;
    return `data: {${inner}, "usage":null,"x":1}`;
  }) + 'data: {"id":"u","choices":[ ],"usage":{"prompt_tokens":1,"completion_tokens":2}}\n\n';

const bodies = loadRecordedFixtures()
  .filter((fixture) => fixture.response.format === 'sse')
  .flatMap((fixture) => {
    const body = fixture.response.body;
    const added = withAdditions(body);
    return [
      { label: fixture.file, text: body },
      { label: `${fixture.file} +additions`, text: added },
      { label: `${fixture.file} +additions CRLF`, text: added.replaceAll('\n', '\r\n') },
      { label: `${fixture.file} +additions CR`, text: added.replaceAll('\n', '\r') },
    ];
  })
  .map(({ label, text }) => ({ label, bytes: Buffer.from(text, 'utf8') }));

describe('usage filter: ranges against the per-event reference', () => {
  it('has recorded bodies, some with the additions already in them', () => {
    expect(bodies.length).toBeGreaterThan(80);
    expect(bodies.some((body) => !body.label.includes('+') && body.bytes.includes('"usage":null'))).toBe(
      true,
    );
  });

  it('gives the same bytes per push on every recorded body, whole, byte by byte and cut at spread points', () => {
    for (const { label, bytes } of bodies) {
      same(bytes, [], `${label} whole`);
      // Byte by byte on the shorter bodies (each push is a call on both sides).
      if (bytes.length <= 4000) {
        same(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
          `${label} bytes`,
        );
      }
      const step = Math.max(1, Math.floor(bytes.length / 40));
      for (let cut = 0; cut <= bytes.length; cut += step) same(bytes, [cut], `${label} @${cut}`);
    }
  });

  it('gives the same bytes under random splits', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...bodies)
          .chain((body) =>
            fc.tuple(fc.constant(body), fc.array(fc.nat({ max: body.bytes.length }), { maxLength: 30 })),
          ),
        ([body, cuts]) => same(body.bytes, cuts, body.label),
      ),
      { numRuns: 300 },
    );
  });

  it('agrees on generated events of near-miss members, split anywhere', () => {
    const piece = fc.constantFrom(
      '"usage"',
      '"usage":null',
      '"usage" :  null',
      '"usage":nul',
      '"usage":{"a":1}',
      '"choices":[]',
      '"choices":[ ]',
      '"choices":[{}]',
      '"choices"',
      ',',
      ' ',
      '\t',
      '{',
      '}',
      '"id":"a"',
      'data: ',
      ':',
      'x',
    );
    const line = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));
    const end = fc.constantFrom('\n', '\r\n', '\r');
    const event = fc
      .tuple(fc.array(fc.tuple(line, end), { minLength: 1, maxLength: 3 }), end)
      .map(([lines, last]) => lines.map(([text, eol]) => text + eol).join('') + last);
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 12 }),
        (events, cuts) => {
          const bytes = Buffer.from(events.join(''), 'latin1');
          same(bytes, cuts, JSON.stringify(events));
          for (const text of events) {
            const one = Buffer.from(text, 'latin1');
            expect(Buffer.from(filterEvent(one))).toEqual(Buffer.from(referenceFilterEvent(one)));
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
