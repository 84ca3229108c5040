/**
 * The reference for llmtap's span encoder (`src/telemetry/span-encoding.ts`), kept as the test oracle: the SDK's
 * serializer writes every integral number as `int_value`, and this re-encodes, in its serialized request, the
 * `AnyValue` of span attributes under double-typed keys (field 3 varint → field 4 fixed64), rewriting the lengths
 * of the enclosing messages. `ProtobufTraceSerializer` + `retypeIntegralDoubles` is what llmtap exported before
 * it encoded spans itself (#15), and what its encoder must still produce.
 */
class Malformed extends Error {}

const readVarint = (buf: Uint8Array, at: number): { value: bigint; next: number } => {
  let value = 0n;
  let shift = 0n;
  let pos = at;
  for (;;) {
    if (pos >= buf.length || shift > 63n) throw new Malformed();
    const byte = buf[pos] as number;
    pos += 1;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value, next: pos };
    shift += 7n;
  }
};

/** Lengths and tags stay far below 2^31 in any message llmtap exports; bigger means a broken buffer. */
const readSmall = (buf: Uint8Array, at: number): { value: number; next: number } => {
  const { value, next } = readVarint(buf, at);
  if (value > 0x7fffffffn) throw new Malformed();
  return { value: Number(value), next };
};

const writeVarint = (value: number): Uint8Array => {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
};

const concat = (pieces: readonly Uint8Array[]): Uint8Array => {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
};

type Rewrite = (message: Uint8Array) => Uint8Array | undefined;

/**
 * Applies `rewrite` to every length-delimited field `field` of `message`; undefined when nothing
 * changed (no copy made). Other fields are kept byte for byte.
 */
const rewriteField = (message: Uint8Array, field: number, rewrite: Rewrite): Uint8Array | undefined => {
  let pieces: Uint8Array[] | undefined;
  let keptFrom = 0;
  let pos = 0;
  while (pos < message.length) {
    const fieldStart = pos;
    const tag = readSmall(message, pos);
    pos = tag.next;
    const wireType = tag.value & 7;
    if (wireType === 0) pos = readVarint(message, pos).next;
    else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else if (wireType === 2) {
      const length = readSmall(message, pos);
      const start = length.next;
      pos = start + length.value;
      if (pos > message.length) throw new Malformed();
      if (tag.value >>> 3 === field) {
        const replaced = rewrite(message.subarray(start, pos));
        if (replaced !== undefined) {
          pieces ??= [];
          pieces.push(message.subarray(keptFrom, fieldStart), writeVarint(tag.value));
          pieces.push(writeVarint(replaced.length), replaced);
          keptFrom = pos;
        }
      }
    } else throw new Malformed();
    if (pos > message.length) throw new Malformed();
  }
  if (pieces === undefined) return undefined;
  pieces.push(message.subarray(keptFrom));
  return concat(pieces);
};

const keyDecoder = new TextDecoder();

/** KeyValue { 1: key, 2: AnyValue }: an int_value under a double-typed key becomes a double_value. */
const retypeKeyValue =
  (keys: ReadonlySet<string>): Rewrite =>
  (keyValue) => {
    let key: string | undefined;
    let pos = 0;
    while (pos < keyValue.length) {
      const tag = readSmall(keyValue, pos);
      pos = tag.next;
      if ((tag.value & 7) !== 2) return undefined;
      const length = readSmall(keyValue, pos);
      const start = length.next;
      pos = start + length.value;
      if (pos > keyValue.length) throw new Malformed();
      if (tag.value >>> 3 === 1) key = keyDecoder.decode(keyValue.subarray(start, pos));
    }
    if (key === undefined || !keys.has(key)) return undefined;
    return rewriteField(keyValue, 2, (anyValue) => {
      // AnyValue { 3: int_value } and nothing else.
      if (anyValue[0] !== 0x18) return undefined;
      const { value, next } = readVarint(anyValue, 1);
      if (next !== anyValue.length) return undefined;
      const out = new Uint8Array(9);
      out[0] = 0x21; // field 4, wire type 1 (fixed64): double_value
      new DataView(out.buffer).setFloat64(1, Number(BigInt.asIntN(64, value)), true);
      return out;
    });
  };

/**
 * `ExportTraceServiceRequest` bytes with every span attribute in `keys` that the serializer wrote as
 * `int_value` re-encoded as `double_value`. Path: request.resource_spans(1) → scope_spans(2) → spans(2)
 * → attributes(9). Returns the input itself when nothing changed or the bytes cannot be walked.
 */
export const retypeIntegralDoubles = (request: Uint8Array, keys: ReadonlySet<string>): Uint8Array => {
  const keyValue = retypeKeyValue(keys);
  const span: Rewrite = (bytes) => rewriteField(bytes, 9, keyValue);
  const scopeSpans: Rewrite = (bytes) => rewriteField(bytes, 2, span);
  const resourceSpans: Rewrite = (bytes) => rewriteField(bytes, 2, scopeSpans);
  try {
    return rewriteField(request, 1, resourceSpans) ?? request;
  } catch (error) {
    if (error instanceof Malformed) return request;
    throw error;
  }
};
