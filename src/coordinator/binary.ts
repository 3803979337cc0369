// Bounded big-endian reader and writer for the coordinator's own formats: __consumer_offsets keys
// and values, the consumer protocol blobs and the producer-state snapshot. All of these come back
// from disk or from clients, so every length is checked against the bytes left before anything
// is allocated or looped over, and int64 values must fit a JS safe integer.

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

const int16Max = 0x7fff;

export class ByteReader {
  readonly #buffer: Buffer;
  #position: number;

  constructor(buffer: Buffer, position = 0) {
    this.#buffer = buffer;
    this.#position = position;
  }

  get position(): number {
    return this.#position;
  }

  remaining(): number {
    return this.#buffer.length - this.#position;
  }

  #need(byteCount: number, what: string): void {
    if (byteCount < 0 || byteCount > this.remaining()) {
      throw new DecodeError(`${what}: needs ${byteCount} bytes, ${this.remaining()} left at position ${this.#position}`);
    }
  }

  int8(): number {
    this.#need(1, 'int8');
    const value = this.#buffer.readInt8(this.#position);
    this.#position += 1;
    return value;
  }

  int16(): number {
    this.#need(2, 'int16');
    const value = this.#buffer.readInt16BE(this.#position);
    this.#position += 2;
    return value;
  }

  int32(): number {
    this.#need(4, 'int32');
    const value = this.#buffer.readInt32BE(this.#position);
    this.#position += 4;
    return value;
  }

  uint32(): number {
    this.#need(4, 'uint32');
    const value = this.#buffer.readUInt32BE(this.#position);
    this.#position += 4;
    return value;
  }

  /** An int64 that must fit a JS safe integer (offsets, timestamps and ids all do in practice). */
  int64(): number {
    this.#need(8, 'int64');
    const big = this.#buffer.readBigInt64BE(this.#position);
    this.#position += 8;
    if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new DecodeError(`int64 ${big} is outside the safe integer range`);
    }
    return Number(big);
  }

  unsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const byte = this.int8() & 0xff;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new DecodeError('unsigned varint longer than 5 bytes');
  }

  #take(length: number, what: string): Buffer {
    this.#need(length, what);
    const slice = this.#buffer.subarray(this.#position, this.#position + length);
    this.#position += length;
    return slice;
  }

  string(): string {
    const value = this.nullableString();
    if (value === null) throw new DecodeError('non-nullable string is null');
    return value;
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length === -1) return null;
    if (length < 0) throw new DecodeError(`string length ${length}`);
    return this.#take(length, 'string').toString('utf8');
  }

  compactString(): string {
    const value = this.compactNullableString();
    if (value === null) throw new DecodeError('non-nullable compact string is null');
    return value;
  }

  compactNullableString(): string | null {
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.#take(lengthPlusOne - 1, 'compact string').toString('utf8');
  }

  /** Bytes are copied out so a decoded value never pins (or aliases) the caller's larger buffer. */
  bytes(): Buffer {
    const value = this.nullableBytes();
    if (value === null) throw new DecodeError('non-nullable bytes are null');
    return value;
  }

  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length === -1) return null;
    if (length < 0) throw new DecodeError(`bytes length ${length}`);
    return Buffer.from(this.#take(length, 'bytes'));
  }

  compactBytes(): Buffer {
    const value = this.compactNullableBytes();
    if (value === null) throw new DecodeError('non-nullable compact bytes are null');
    return value;
  }

  compactNullableBytes(): Buffer | null {
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) return null;
    return Buffer.from(this.#take(lengthPlusOne - 1, 'compact bytes'));
  }

  /** An int32 element count, refused when even minimum-size elements could not fit in what is left. */
  arrayLength(minElementBytes: number): number {
    const count = this.int32();
    if (count < 0) throw new DecodeError(`array length ${count}`);
    this.#checkCount(count, minElementBytes);
    return count;
  }

  /** A nullable int32 element count: -1 means null. */
  nullableArrayLength(minElementBytes: number): number | null {
    const count = this.int32();
    if (count === -1) return null;
    if (count < 0) throw new DecodeError(`array length ${count}`);
    this.#checkCount(count, minElementBytes);
    return count;
  }

  compactArrayLength(minElementBytes: number): number {
    const countPlusOne = this.unsignedVarint();
    if (countPlusOne === 0) throw new DecodeError('non-nullable compact array is null');
    this.#checkCount(countPlusOne - 1, minElementBytes);
    return countPlusOne - 1;
  }

  #checkCount(count: number, minElementBytes: number): void {
    if (count * Math.max(1, minElementBytes) > this.remaining()) {
      throw new DecodeError(`array of ${count} elements cannot fit in ${this.remaining()} bytes`);
    }
  }

  /** Flexible versions end each struct with tagged fields; none are known here, so all are skipped. */
  skipTaggedFields(): void {
    const count = this.unsignedVarint();
    this.#checkCount(count, 2);
    for (let index = 0; index < count; index++) {
      this.unsignedVarint();
      const size = this.unsignedVarint();
      this.#take(size, 'tagged field');
    }
  }
}

export class ByteWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(initialCapacity = 256) {
    this.#buffer = Buffer.allocUnsafe(initialCapacity);
  }

  #reserve(byteCount: number): number {
    const needed = this.#length + byteCount;
    if (needed > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    const at = this.#length;
    this.#length = needed;
    return at;
  }

  // Each writer reserves first and only then touches this.#buffer: reserving may replace it.
  int8(value: number): this {
    const at = this.#reserve(1);
    this.#buffer.writeInt8(value, at);
    return this;
  }

  int16(value: number): this {
    const at = this.#reserve(2);
    this.#buffer.writeInt16BE(value, at);
    return this;
  }

  int32(value: number): this {
    const at = this.#reserve(4);
    this.#buffer.writeInt32BE(value, at);
    return this;
  }

  uint32(value: number): this {
    const at = this.#reserve(4);
    this.#buffer.writeUInt32BE(value, at);
    return this;
  }

  int64(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`int64 value ${value} is not a safe integer`);
    const at = this.#reserve(8);
    this.#buffer.writeBigInt64BE(BigInt(value), at);
    return this;
  }

  string(value: string): this {
    return this.nullableString(value);
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    const length = Buffer.byteLength(value, 'utf8');
    if (length > int16Max) throw new RangeError(`string of ${length} bytes does not fit an int16 length`);
    this.int16(length);
    const at = this.#reserve(length);
    this.#buffer.write(value, at, 'utf8');
    return this;
  }

  bytes(value: Buffer): this {
    return this.nullableBytes(value);
  }

  nullableBytes(value: Buffer | null): this {
    if (value === null) return this.int32(-1);
    this.int32(value.length);
    const at = this.#reserve(value.length);
    value.copy(this.#buffer, at);
    return this;
  }

  raw(value: Buffer): this {
    const at = this.#reserve(value.length);
    value.copy(this.#buffer, at);
    return this;
  }

  get length(): number {
    return this.#length;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.#buffer.subarray(0, this.#length));
  }
}
