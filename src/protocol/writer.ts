// Growable writer for the Kafka wire format.
//
// Bytes go into a current scratch buffer; when it fills up, the written part is sealed as a
// chunk and a bigger buffer is started (nothing already written is copied again). Large
// Buffers (record batches) are embedded as chunks of their own without copying, so a Fetch
// response can carry log data straight from disk reads. `toChunks()` feeds socket.writev or
// cork/write; `toBuffer()` concatenates.
//
// int64 values are JS numbers (clamped to +-Number.MAX_SAFE_INTEGER); uuids are 32-character
// hex strings (see reader.ts).

import { ProtocolError } from './protocol-error.ts';

const TWO_POW_32 = 4294967296;
const MIN_CAPACITY_BYTES = 64;
const MAX_GROWTH_CHUNK_BYTES = 1024 * 1024;
// Buffers at least this large are referenced instead of copied.
const EMBED_THRESHOLD_BYTES = 512;
const UUID_PATTERN = /^[0-9a-f]{32}$/;

export type ElementWriter<T> = (writer: Writer, value: T, version: number) => void;

export class Writer {
  private chunks: Buffer[] = [];
  private sealedBytes = 0;
  private buffer: Buffer;
  private position = 0;
  private chunkStart = 0;

  constructor(initialCapacityBytes = 256) {
    this.buffer = Buffer.allocUnsafe(Math.max(MIN_CAPACITY_BYTES, initialCapacityBytes));
  }

  // Bytes written so far.
  get length(): number {
    return this.sealedBytes + this.position - this.chunkStart;
  }

  private ensure(byteCount: number): void {
    if (this.buffer.length - this.position >= byteCount) return;
    this.seal();
    const grown = Math.min(this.buffer.length * 2, MAX_GROWTH_CHUNK_BYTES);
    this.buffer = Buffer.allocUnsafe(Math.max(grown, byteCount));
    this.position = 0;
    this.chunkStart = 0;
  }

  private seal(): void {
    if (this.position > this.chunkStart) {
      this.chunks.push(this.buffer.subarray(this.chunkStart, this.position));
      this.sealedBytes += this.position - this.chunkStart;
      this.chunkStart = this.position;
    }
  }

  // ---- fixed-width numbers -------------------------------------------------------------

  writeInt8(value: number): this {
    this.ensure(1);
    this.buffer.writeInt8(value, this.position);
    this.position += 1;
    return this;
  }

  writeUInt8(value: number): this {
    this.ensure(1);
    this.buffer[this.position++] = value;
    return this;
  }

  writeBoolean(value: boolean): this {
    this.ensure(1);
    this.buffer[this.position++] = value ? 1 : 0;
    return this;
  }

  writeInt16(value: number): this {
    this.ensure(2);
    this.buffer.writeInt16BE(value, this.position);
    this.position += 2;
    return this;
  }

  writeUInt16(value: number): this {
    this.ensure(2);
    this.buffer.writeUInt16BE(value, this.position);
    this.position += 2;
    return this;
  }

  writeInt32(value: number): this {
    this.ensure(4);
    this.buffer.writeInt32BE(value, this.position);
    this.position += 4;
    return this;
  }

  writeUInt32(value: number): this {
    this.ensure(4);
    this.buffer.writeUInt32BE(value, this.position);
    this.position += 4;
    return this;
  }

  writeInt64(value: number): this {
    this.ensure(8);
    let clamped = Math.trunc(value);
    if (clamped > Number.MAX_SAFE_INTEGER) clamped = Number.MAX_SAFE_INTEGER;
    else if (clamped < Number.MIN_SAFE_INTEGER) clamped = Number.MIN_SAFE_INTEGER;
    else if (clamped !== clamped) throw new ProtocolError('int64 value is NaN');
    const high = Math.floor(clamped / TWO_POW_32);
    this.buffer.writeInt32BE(high, this.position);
    this.buffer.writeUInt32BE(clamped - high * TWO_POW_32, this.position + 4);
    this.position += 8;
    return this;
  }

  writeFloat64(value: number): this {
    this.ensure(8);
    this.buffer.writeDoubleBE(value, this.position);
    this.position += 8;
    return this;
  }

  writeUuid(value: string): this {
    if (typeof value !== 'string' || !UUID_PATTERN.test(value)) {
      throw new ProtocolError(`uuid must be 32 lowercase hex characters, got ${String(value)}`);
    }
    this.ensure(16);
    this.buffer.write(value, this.position, 16, 'hex');
    this.position += 16;
    return this;
  }

  // ---- varints ---------------------------------------------------------------------------

  writeUnsignedVarint(value: number): this {
    if (!(value >= 0 && value <= 0xffffffff)) {
      throw new ProtocolError(`unsigned varint out of range: ${value}`);
    }
    this.ensure(5);
    const buffer = this.buffer;
    let position = this.position;
    let rest = value >>> 0;
    while (rest >= 0x80) {
      buffer[position++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buffer[position++] = rest;
    this.position = position;
    return this;
  }

  writeVarint(value: number): this {
    return this.writeUnsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  writeVarlong(value: number): this {
    if (value >= -0x80000000 && value <= 0x7fffffff && Number.isInteger(value)) {
      return this.writeUnsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
    }
    let clamped = Math.trunc(value);
    if (clamped > Number.MAX_SAFE_INTEGER) clamped = Number.MAX_SAFE_INTEGER;
    else if (clamped < Number.MIN_SAFE_INTEGER) clamped = Number.MIN_SAFE_INTEGER;
    else if (clamped !== clamped) throw new ProtocolError('varlong value is NaN');
    // Rare (values beyond int32): BigInt keeps the zigzag exact.
    const wide = BigInt(clamped);
    let rest = (wide << 1n) ^ (wide >> 63n);
    this.ensure(10);
    const buffer = this.buffer;
    let position = this.position;
    while (rest >= 0x80n) {
      buffer[position++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    buffer[position++] = Number(rest);
    this.position = position;
    return this;
  }

  // ---- strings ---------------------------------------------------------------------------

  private utf8(value: string, byteLength: number): void {
    this.ensure(byteLength);
    this.position += this.buffer.write(value, this.position, byteLength, 'utf8');
  }

  writeString(value: string | null): this {
    if (typeof value !== 'string') throw new ProtocolError('null in a non-nullable string');
    const byteLength = Buffer.byteLength(value, 'utf8');
    if (byteLength > 0x7fff) throw new ProtocolError(`string of ${byteLength} bytes too long`);
    this.writeInt16(byteLength);
    this.utf8(value, byteLength);
    return this;
  }

  writeNullableString(value: string | null): this {
    if (value === null) return this.writeInt16(-1);
    return this.writeString(value);
  }

  writeCompactString(value: string | null): this {
    if (typeof value !== 'string') throw new ProtocolError('null in a non-nullable string');
    const byteLength = Buffer.byteLength(value, 'utf8');
    this.writeUnsignedVarint(byteLength + 1);
    this.utf8(value, byteLength);
    return this;
  }

  writeCompactNullableString(value: string | null): this {
    if (value === null) return this.writeUnsignedVarint(0);
    return this.writeCompactString(value);
  }

  // ---- bytes -----------------------------------------------------------------------------

  // Raw bytes, no length prefix. Large buffers are referenced, not copied: do not modify
  // them until the output has been sent.
  writeRaw(value: Buffer): this {
    const byteLength = value.length;
    if (byteLength >= EMBED_THRESHOLD_BYTES) {
      this.seal();
      this.chunks.push(value);
      this.sealedBytes += byteLength;
      return this;
    }
    this.ensure(byteLength);
    value.copy(this.buffer, this.position);
    this.position += byteLength;
    return this;
  }

  writeBytes(value: Buffer | null): this {
    if (value === null || value === undefined) throw new ProtocolError('null in non-nullable bytes');
    this.writeInt32(value.length);
    return this.writeRaw(value);
  }

  writeNullableBytes(value: Buffer | null): this {
    if (value === null) return this.writeInt32(-1);
    return this.writeBytes(value);
  }

  writeCompactBytes(value: Buffer | null): this {
    if (value === null || value === undefined) throw new ProtocolError('null in non-nullable bytes');
    this.writeUnsignedVarint(value.length + 1);
    return this.writeRaw(value);
  }

  writeCompactNullableBytes(value: Buffer | null): this {
    if (value === null) return this.writeUnsignedVarint(0);
    return this.writeCompactBytes(value);
  }

  // ---- arrays ----------------------------------------------------------------------------

  writeArray<T>(items: readonly T[] | null, write: ElementWriter<T>, version: number): this {
    if (items === null || items === undefined) throw new ProtocolError('null in a non-nullable array');
    this.writeInt32(items.length);
    for (let index = 0; index < items.length; index++) write(this, items[index]!, version);
    return this;
  }

  writeNullableArray<T>(items: readonly T[] | null, write: ElementWriter<T>, version: number): this {
    if (items === null) return this.writeInt32(-1);
    return this.writeArray(items, write, version);
  }

  writeCompactArray<T>(items: readonly T[] | null, write: ElementWriter<T>, version: number): this {
    if (items === null || items === undefined) throw new ProtocolError('null in a non-nullable array');
    this.writeUnsignedVarint(items.length + 1);
    for (let index = 0; index < items.length; index++) write(this, items[index]!, version);
    return this;
  }

  writeCompactNullableArray<T>(
    items: readonly T[] | null,
    write: ElementWriter<T>,
    version: number,
  ): this {
    if (items === null) return this.writeUnsignedVarint(0);
    return this.writeCompactArray(items, write, version);
  }

  // ---- tagged fields ---------------------------------------------------------------------

  writeEmptyTaggedFields(): this {
    this.ensure(1);
    this.buffer[this.position++] = 0;
    return this;
  }

  // One tagged field whose value was encoded separately (tag, size, bytes).
  writeTaggedField(tag: number, encoded: Writer): this {
    this.writeUnsignedVarint(tag);
    this.writeUnsignedVarint(encoded.length);
    for (const chunk of encoded.toChunks()) this.writeRaw(chunk);
    return this;
  }

  // ---- back-patching ---------------------------------------------------------------------

  // Reserves 4 contiguous bytes (e.g. a size prefix) and returns their offset for patchInt32.
  reserveInt32(): number {
    this.ensure(4);
    const offset = this.length;
    this.position += 4;
    return offset;
  }

  patchInt32(offset: number, value: number): this {
    if (offset >= this.sealedBytes) {
      this.buffer.writeInt32BE(value, this.chunkStart + offset - this.sealedBytes);
      return this;
    }
    let chunkOffset = 0;
    for (const chunk of this.chunks) {
      if (offset < chunkOffset + chunk.length) {
        chunk.writeInt32BE(value, offset - chunkOffset);
        return this;
      }
      chunkOffset += chunk.length;
    }
    throw new RangeError(`patch offset ${offset} beyond ${this.length} written bytes`);
  }

  // ---- output ----------------------------------------------------------------------------

  // The written bytes as a list of buffers (no copy). The writer may still be appended to,
  // but earlier results then do not include the new bytes.
  toChunks(): Buffer[] {
    const current = this.buffer.subarray(this.chunkStart, this.position);
    if (this.chunks.length === 0) return [current];
    return current.length > 0 ? [...this.chunks, current] : [...this.chunks];
  }

  toBuffer(): Buffer {
    const chunks = this.toChunks();
    if (chunks.length === 1) return chunks[0]!;
    return Buffer.concat(chunks, this.length);
  }
}

export const writeInt8Element: ElementWriter<number> = (writer, value) => {
  writer.writeInt8(value);
};
export const writeInt16Element: ElementWriter<number> = (writer, value) => {
  writer.writeInt16(value);
};
export const writeInt32Element: ElementWriter<number> = (writer, value) => {
  writer.writeInt32(value);
};
export const writeInt64Element: ElementWriter<number> = (writer, value) => {
  writer.writeInt64(value);
};
export const writeUuidElement: ElementWriter<string> = (writer, value) => {
  writer.writeUuid(value);
};
export const writeStringElement: ElementWriter<string> = (writer, value) => {
  writer.writeString(value);
};
export const writeCompactStringElement: ElementWriter<string> = (writer, value) => {
  writer.writeCompactString(value);
};
