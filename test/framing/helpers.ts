/** Shared helpers for the framing decoder tests. */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import type { Frame, Framing } from '../../src/adapter.ts';
import { createFrameDecoder, type FrameDecoder } from '../../src/framing/index.ts';
import { loadRecordedFixtures, wireBody } from '../helpers/recorded.ts';

export interface Decoded {
  readonly frames: Frame[];
  readonly dropped: number;
  /** The largest `bufferedBytes` seen after any push. */
  readonly maxBuffered: number;
}

/** Feeds `chunks` to a fresh decoder and collects what it emits. */
export const decodeChunks = (
  framing: Framing,
  chunks: readonly Uint8Array[],
  options: { clean?: boolean; maxFrameBytes?: number } = {},
): Decoded => {
  const frames: Frame[] = [];
  const decoder: FrameDecoder = createFrameDecoder(framing, {
    maxFrameBytes: options.maxFrameBytes ?? 1 << 20,
    onFrame: (frame) => frames.push(frame),
  });
  let maxBuffered = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
  }
  decoder.end(options.clean ?? true);
  return { frames, dropped: decoder.droppedFrames, maxBuffered };
};

export const decodeText = (
  framing: Framing,
  parts: readonly string[],
  options: { clean?: boolean; maxFrameBytes?: number } = {},
): Decoded =>
  decodeChunks(
    framing,
    parts.map((part) => Buffer.from(part, 'utf8')),
    options,
  );

/** Splits `bytes` at the given offsets (any order, duplicates and out-of-range values allowed). */
export const splitAt = (bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] => {
  const cuts = [...new Set(offsets.map((o) => Math.min(Math.max(o, 0), bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(last, cut));
    last = cut;
  }
  chunks.push(bytes.subarray(last));
  return chunks;
};

/** Every split point set, including none and one per byte, bounded in count. */
export const arbitrarySplits = (length: number): fc.Arbitrary<number[]> =>
  fc.oneof(
    fc.array(fc.nat({ max: length }), { maxLength: 40 }),
    fc.constant(Array.from({ length }, (_, i) => i)),
  );

/** Frames as plain objects, for `toEqual` across decoders (drops `undefined` noise). */
export const plain = (frames: readonly Frame[]): { event?: string; text: string; messageType?: string }[] =>
  frames.map((f) => ({
    ...(f.event === undefined ? {} : { event: f.event }),
    text: f.text,
    ...(f.messageType === undefined ? {} : { messageType: f.messageType }),
  }));

/** Recorded response bodies of one format, as the wire carried them (eventstream binary, text otherwise). */
export const recordedBodies = (format: string): { file: string; bytes: Buffer }[] =>
  loadRecordedFixtures()
    .filter((f) => f.response.format === format && f.response.wire_body_base64 === undefined)
    .map((f) => ({ file: f.file, bytes: wireBody(f) }));

/** An AWS eventstream header value, by wire type. */
export type HeaderValue =
  | { type: 'bool'; value: boolean }
  | { type: 'byte' | 'short' | 'int'; value: number }
  | { type: 'long' | 'timestamp'; value: bigint }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'string'; value: string }
  | { type: 'uuid'; value: Uint8Array };

/** Encodes one eventstream message (test-only encoder, written from the AWS framing description). */
export const encodeEventStreamMessage = (
  headers: Readonly<Record<string, HeaderValue>>,
  payload: Uint8Array | string,
): Buffer => {
  const parts: Buffer[] = [];
  for (const [name, header] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    parts.push(Buffer.from([nameBytes.length]), nameBytes);
    switch (header.type) {
      case 'bool':
        parts.push(Buffer.from([header.value ? 0 : 1]));
        break;
      case 'byte':
        parts.push(Buffer.from([2, header.value & 0xff]));
        break;
      case 'short': {
        const b = Buffer.alloc(3);
        b[0] = 3;
        b.writeInt16BE(header.value, 1);
        parts.push(b);
        break;
      }
      case 'int': {
        const b = Buffer.alloc(5);
        b[0] = 4;
        b.writeInt32BE(header.value, 1);
        parts.push(b);
        break;
      }
      case 'long':
      case 'timestamp': {
        const b = Buffer.alloc(9);
        b[0] = header.type === 'long' ? 5 : 8;
        b.writeBigInt64BE(header.value, 1);
        parts.push(b);
        break;
      }
      case 'bytes':
      case 'string': {
        const value =
          header.type === 'string' ? Buffer.from(header.value, 'utf8') : Buffer.from(header.value);
        const b = Buffer.alloc(3);
        b[0] = header.type === 'bytes' ? 6 : 7;
        b.writeUInt16BE(value.length, 1);
        parts.push(b, value);
        break;
      }
      case 'uuid':
        parts.push(Buffer.from([9]), Buffer.from(header.value));
        break;
    }
  }
  const headerBytes = Buffer.concat(parts);
  const payloadBytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const total = 12 + headerBytes.length + payloadBytes.length + 4;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, 12);
  payloadBytes.copy(message, 12 + headerBytes.length);
  message.writeUInt32BE(crc32(message.subarray(0, total - 4)), total - 4);
  return message;
};
