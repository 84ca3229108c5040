/**
 * ByteAccumulator.appendShared: a whole body held by reference must behave exactly like a copy — later
 * appends and clears never write into the caller's buffer, and every view reads the right bytes.
 */
import { describe, expect, it } from 'vitest';
import { ByteAccumulator } from '../../src/framing/bytes.ts';

describe('ByteAccumulator.appendShared', () => {
  it('holds a first chunk by reference (no copy)', () => {
    // Buffer.alloc is never pooled, so a copy could not share its ArrayBuffer.
    const source = Buffer.alloc(18);
    source.write('{"model":"gpt-4o"}');
    const acc = new ByteAccumulator();
    acc.appendShared(source, 0, source.length);
    expect(acc.view().buffer).toBe(source.buffer);
    expect(acc.view().byteOffset).toBe(source.byteOffset);
    expect(acc.text()).toBe('{"model":"gpt-4o"}');
  });

  it('copies before appending more, leaving the shared chunk untouched', () => {
    const first = Buffer.alloc(6);
    first.write('hello ');
    const snapshot = Buffer.from(first);
    const acc = new ByteAccumulator();
    acc.appendShared(first, 0, first.length);
    acc.append(Buffer.from('world'), 0, 5);
    acc.appendShared(Buffer.from('!'), 0, 1);
    expect(acc.text()).toBe('hello world!');
    expect(first.equals(snapshot)).toBe(true);
    expect(acc.view().buffer).not.toBe(first.buffer);
  });

  it('after clear(), new bytes never land in the previously shared chunk', () => {
    const first = Buffer.alloc(64, 0x61);
    const acc = new ByteAccumulator();
    acc.appendShared(first, 0, 64);
    acc.clear();
    acc.append(Buffer.alloc(10, 0x62), 0, 10);
    expect(first.every((b) => b === 0x61)).toBe(true);
    expect(acc.text()).toBe('b'.repeat(10));
  });

  it('takes a sub-range as given, and an empty range as nothing', () => {
    const source = Buffer.from('xx{"a":1}yy');
    const acc = new ByteAccumulator();
    acc.appendShared(source, 2, 2);
    expect(acc.length).toBe(0);
    acc.appendShared(source, 2, 9);
    expect(acc.text()).toBe('{"a":1}');
    expect(acc.byteAt(0)).toBe(0x7b);
  });
});
