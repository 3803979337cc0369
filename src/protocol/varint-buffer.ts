// Zigzag varints (protobuf sint32/sint64) over plain Buffers, as used INSIDE record batches.
// The protocol's flexible-version lengths are unsigned varints and live with the Reader/Writer;
// this file is only for records, so it can stay dependency-free and bounds-checked.
//
// Values are JS numbers: varlongs larger than 2^53 are refused rather than silently rounded
// (record timestamp deltas and lengths never come near that).

export class VarintError extends Error {
  override readonly name = 'VarintError';
}

const TWO_POW_32 = 2 ** 32;

/** A read position over `buf[pos, end)`; every read checks the end first. */
export class ByteCursor {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  readInt8(): number {
    if (this.pos >= this.end) throw new VarintError('int8 past end of buffer');
    return this.buf.readInt8(this.pos++);
  }

  readInt16(): number {
    if (this.pos + 2 > this.end) throw new VarintError('int16 past end of buffer');
    const value = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  readInt32(): number {
    if (this.pos + 4 > this.end) throw new VarintError('int32 past end of buffer');
    const value = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** Zigzag varint of at most 5 bytes holding a 32-bit value. */
  readVarint(): number {
    const raw = this.readRawVarint(5);
    if (raw >= TWO_POW_32) throw new VarintError('varint does not fit in 32 bits');
    return zigzagDecode(raw);
  }

  /** Zigzag varlong of at most 10 bytes; refused beyond 2^53. */
  readVarlong(): number {
    return zigzagDecode(this.readRawVarint(10));
  }

  /** A zero-copy slice of `length` bytes; the length is checked against what is left. */
  readBytes(length: number): Buffer {
    if (length < 0 || length > this.end - this.pos) throw new VarintError(`byte field of ${length} bytes past end of buffer`);
    const slice = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  private readRawVarint(maxBytes: number): number {
    let raw = 0;
    let scale = 1;
    for (let index = 0; index < maxBytes; index++) {
      if (this.pos >= this.end) throw new VarintError('varint past end of buffer');
      const byte = this.buf[this.pos++]!;
      raw += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (raw > Number.MAX_SAFE_INTEGER) throw new VarintError('varint beyond 2^53');
        return raw;
      }
      scale *= 128;
    }
    throw new VarintError(`varint longer than ${maxBytes} bytes`);
  }
}

function zigzagDecode(raw: number): number {
  // raw is a non-negative integer; odd raw values are negative numbers.
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

function zigzagEncode(value: number): number {
  if (!Number.isSafeInteger(value)) throw new VarintError(`cannot encode ${value} as a varint`);
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Bytes the zigzag varint/varlong encoding of `value` takes. */
export function varintSize(value: number): number {
  let raw = zigzagEncode(value);
  let size = 1;
  while (raw >= 128) {
    raw = Math.floor(raw / 128);
    size++;
  }
  return size;
}

/** Writes the zigzag encoding of `value` at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  let raw = zigzagEncode(value);
  while (raw >= 128) {
    buf[pos++] = (raw % 128) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[pos++] = raw;
  return pos;
}
