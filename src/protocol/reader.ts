// Bounds-checked reader for the Kafka wire format (big-endian, KIP-482 compact forms).
//
// Invariants a server needs (CVE-2022-34917 is what happens without them):
// - every read checks the bytes left between `position` and `end` and throws ProtocolError;
// - every length (string, bytes, array count, tagged-field count and size) is checked against
//   the bytes left BEFORE anything is allocated or looped over. An array of N elements needs
//   at least N * (smallest encoding of one element) bytes left.
//
// Representations:
// - int64 / varlong are JS numbers, clamped to +-Number.MAX_SAFE_INTEGER (offsets, timestamps,
//   producer ids all fit; Long.MAX_VALUE sentinels read back as MAX_SAFE_INTEGER).
// - uuid is a 32-character lowercase hex string (no dashes); the all-zero uuid is ZERO_UUID.
// - bytes and records are zero-copy Buffer views into the input (keep the input alive and
//   unmodified while they are in use).

import { ProtocolError } from './protocol-error.ts';

export const ZERO_UUID = '00000000000000000000000000000000';
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

// KIP-482 places no limit; Kafka has a handful of tags per struct. A cap keeps a hostile
// header from making us loop.
export const MAX_TAGGED_FIELDS = 10_000;

const TWO_POW_32 = 4294967296;
const TWO_POW_28 = 268435456;
const TWO_POW_27 = 134217728;

export type ElementReader<T> = (reader: Reader, version: number) => T;

function overrun(wanted: number, left: number): ProtocolError {
  return new ProtocolError(`truncated input: need ${wanted} bytes, ${left} left`);
}

export class Reader {
  readonly buffer: Buffer;
  position: number;
  readonly end: number;

  constructor(buffer: Buffer, start = 0, end = buffer.length) {
    if (start < 0 || end > buffer.length || start > end) {
      throw new RangeError(`reader window [${start}, ${end}) outside buffer of ${buffer.length}`);
    }
    this.buffer = buffer;
    this.position = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  private take(byteCount: number): number {
    const at = this.position;
    if (this.end - at < byteCount) throw overrun(byteCount, this.end - at);
    this.position = at + byteCount;
    return at;
  }

  skip(byteCount: number): void {
    if (byteCount < 0) throw new ProtocolError(`negative skip ${byteCount}`);
    this.take(byteCount);
  }

  // A reader over the next byteCount bytes; this reader moves past them.
  sub(byteCount: number): Reader {
    const at = this.take(byteCount);
    return new Reader(this.buffer, at, at + byteCount);
  }

  // ---- fixed-width numbers -------------------------------------------------------------

  readInt8(): number {
    return this.buffer.readInt8(this.take(1));
  }

  readUInt8(): number {
    return this.buffer[this.take(1)]!;
  }

  readBoolean(): boolean {
    return this.buffer[this.take(1)] !== 0;
  }

  readInt16(): number {
    return this.buffer.readInt16BE(this.take(2));
  }

  readUInt16(): number {
    return this.buffer.readUInt16BE(this.take(2));
  }

  readInt32(): number {
    return this.buffer.readInt32BE(this.take(4));
  }

  readUInt32(): number {
    return this.buffer.readUInt32BE(this.take(4));
  }

  readInt64(): number {
    const at = this.take(8);
    const high = this.buffer.readInt32BE(at);
    const low = this.buffer.readUInt32BE(at + 4);
    const value = high * TWO_POW_32 + low;
    if (value > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
    if (value < Number.MIN_SAFE_INTEGER) return Number.MIN_SAFE_INTEGER;
    return value;
  }

  readFloat64(): number {
    return this.buffer.readDoubleBE(this.take(8));
  }

  readUuid(): string {
    const at = this.take(16);
    return this.buffer.toString('hex', at, at + 16);
  }

  // ---- varints ---------------------------------------------------------------------------

  readUnsignedVarint(): number {
    const buffer = this.buffer;
    let position = this.position;
    const end = this.end;
    if (position < end && buffer[position]! < 0x80) {
      this.position = position + 1;
      return buffer[position]!;
    }
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (position >= end) throw overrun(1, 0);
      const byte = buffer[position++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) throw new ProtocolError('unsigned varint exceeds 32 bits');
        this.position = position;
        return value;
      }
    }
    throw new ProtocolError('unsigned varint longer than 5 bytes');
  }

  readVarint(): number {
    const unsigned = this.readUnsignedVarint();
    return (unsigned >>> 1) ^ -(unsigned & 1);
  }

  // Zigzag-encoded int64. The low 28 bits are kept in an integer so the sign bit survives
  // even when the magnitude is beyond 2^53 (then the result is clamped).
  readVarlong(): number {
    const buffer = this.buffer;
    let position = this.position;
    const end = this.end;
    let low = 0;
    let high = 0;
    for (let index = 0; index < 10; index++) {
      if (position >= end) throw overrun(1, 0);
      const byte = buffer[position++]!;
      if (index < 4) low |= (byte & 0x7f) << (7 * index);
      else high += (byte & 0x7f) * 2 ** (7 * (index - 4));
      if ((byte & 0x80) === 0) {
        this.position = position;
        const magnitude = high * TWO_POW_27 + (low >>> 1);
        if (magnitude > Number.MAX_SAFE_INTEGER) {
          return (low & 1) === 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
        }
        return (low & 1) === 0 ? magnitude : -magnitude - 1;
      }
    }
    throw new ProtocolError('varlong longer than 10 bytes');
  }

  // ---- strings (UTF-8; invalid sequences become U+FFFD, as in Java's decoder) ------------

  private utf8(byteCount: number): string {
    const at = this.take(byteCount);
    return this.buffer.toString('utf8', at, at + byteCount);
  }

  readString(): string {
    const length = this.readInt16();
    if (length < 0) throw new ProtocolError(`invalid string length ${length}`);
    return this.utf8(length);
  }

  readNullableString(): string | null {
    const length = this.readInt16();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolError(`invalid nullable string length ${length}`);
    return this.utf8(length);
  }

  readCompactString(): string {
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) throw new ProtocolError('null in a non-nullable compact string');
    return this.utf8(lengthPlusOne - 1);
  }

  readCompactNullableString(): string | null {
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.utf8(lengthPlusOne - 1);
  }

  // ---- bytes (zero-copy views) -----------------------------------------------------------

  private view(byteCount: number): Buffer {
    const at = this.take(byteCount);
    return this.buffer.subarray(at, at + byteCount);
  }

  readBytes(): Buffer {
    const length = this.readInt32();
    if (length < 0) throw new ProtocolError(`invalid bytes length ${length}`);
    return this.view(length);
  }

  readNullableBytes(): Buffer | null {
    const length = this.readInt32();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolError(`invalid nullable bytes length ${length}`);
    return this.view(length);
  }

  readCompactBytes(): Buffer {
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) throw new ProtocolError('null in non-nullable compact bytes');
    return this.view(lengthPlusOne - 1);
  }

  readCompactNullableBytes(): Buffer | null {
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.view(lengthPlusOne - 1);
  }

  // Raw bytes without a length prefix (e.g. the rest of a frame).
  readRaw(byteCount: number): Buffer {
    if (byteCount < 0) throw new ProtocolError(`negative raw length ${byteCount}`);
    return this.view(byteCount);
  }

  // ---- arrays ----------------------------------------------------------------------------

  // Count of an int32-prefixed array; -1 (null) is returned as -1 for the caller to judge.
  readArrayCount(minElementBytes: number): number {
    const count = this.readInt32();
    if (count === -1) return -1;
    if (count < 0) throw new ProtocolError(`invalid array length ${count}`);
    this.checkCount(count, minElementBytes);
    return count;
  }

  readCompactArrayCount(minElementBytes: number): number {
    const countPlusOne = this.readUnsignedVarint();
    if (countPlusOne === 0) return -1;
    const count = countPlusOne - 1;
    this.checkCount(count, minElementBytes);
    return count;
  }

  private checkCount(count: number, minElementBytes: number): void {
    const left = this.end - this.position;
    if (count * (minElementBytes > 1 ? minElementBytes : 1) > left) {
      throw new ProtocolError(`array of ${count} elements cannot fit in ${left} bytes`);
    }
  }

  private elements<T>(count: number, read: ElementReader<T>, version: number): T[] {
    const items: T[] = [];
    for (let index = 0; index < count; index++) items.push(read(this, version));
    return items;
  }

  readArray<T>(read: ElementReader<T>, version: number, minElementBytes: number): T[] {
    const count = this.readArrayCount(minElementBytes);
    if (count < 0) throw new ProtocolError('null in a non-nullable array');
    return this.elements(count, read, version);
  }

  readNullableArray<T>(read: ElementReader<T>, version: number, minElementBytes: number): T[] | null {
    const count = this.readArrayCount(minElementBytes);
    return count < 0 ? null : this.elements(count, read, version);
  }

  readCompactArray<T>(read: ElementReader<T>, version: number, minElementBytes: number): T[] {
    const count = this.readCompactArrayCount(minElementBytes);
    if (count < 0) throw new ProtocolError('null in a non-nullable compact array');
    return this.elements(count, read, version);
  }

  readCompactNullableArray<T>(
    read: ElementReader<T>,
    version: number,
    minElementBytes: number,
  ): T[] | null {
    const count = this.readCompactArrayCount(minElementBytes);
    return count < 0 ? null : this.elements(count, read, version);
  }

  // ---- tagged fields (KIP-482) -----------------------------------------------------------

  // Each tagged field takes at least 2 bytes (tag varint + size varint).
  readTaggedFieldCount(): number {
    const count = this.readUnsignedVarint();
    if (count > MAX_TAGGED_FIELDS || count * 2 > this.end - this.position) {
      throw new ProtocolError(`tagged field count ${count} exceeds limits`);
    }
    return count;
  }

  readTaggedFieldSize(): number {
    const size = this.readUnsignedVarint();
    if (size > this.end - this.position) {
      throw new ProtocolError(`tagged field of ${size} bytes exceeds the ${this.remaining} left`);
    }
    return size;
  }

  // For structs without known tagged fields: skip every field.
  skipTaggedFields(): void {
    // Fast path: almost every struct carries an empty tagged section (a single 0 byte).
    if (this.position < this.end && this.buffer[this.position] === 0) {
      this.position++;
      return;
    }
    const count = this.readTaggedFieldCount();
    for (let index = 0; index < count; index++) {
      this.readUnsignedVarint();
      const size = this.readTaggedFieldSize();
      this.position += size;
    }
  }
}

// Element readers for arrays of primitives (arrays of strings use the form matching the
// message's flexibility).
export const readInt8Element: ElementReader<number> = (reader) => reader.readInt8();
export const readInt16Element: ElementReader<number> = (reader) => reader.readInt16();
export const readInt32Element: ElementReader<number> = (reader) => reader.readInt32();
export const readInt64Element: ElementReader<number> = (reader) => reader.readInt64();
export const readUuidElement: ElementReader<string> = (reader) => reader.readUuid();
export const readStringElement: ElementReader<string> = (reader) => reader.readString();
export const readCompactStringElement: ElementReader<string> = (reader) =>
  reader.readCompactString();
