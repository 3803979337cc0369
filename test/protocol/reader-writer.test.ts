// Proves the wire primitives: every Writer encoding reads back unchanged through Reader
// (edge values and fast-check properties), known byte forms (varints, zigzag, compact
// lengths) match the Kafka spec, int64 clamps to the safe range, large Buffers are embedded
// without copying, and malformed lengths raise ProtocolError before any allocation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, ZERO_UUID, MAX_TAGGED_FIELDS, readInt32Element } from '../../src/protocol/reader.ts';
import { Writer, writeInt32Element } from '../../src/protocol/writer.ts';
import { ProtocolError } from '../../src/protocol/protocol-error.ts';

function bytes(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ''), 'hex');
}

function encode(build: (writer: Writer) => void): Buffer {
  const writer = new Writer(16);
  build(writer);
  return writer.toBuffer();
}

test('fixed-width numbers round trip at their edges', () => {
  const int8s = [-128, -1, 0, 1, 127];
  const int16s = [-32768, -1, 0, 1, 32767];
  const uint16s = [0, 1, 65535];
  const int32s = [-2147483648, -1, 0, 1, 2147483647];
  const uint32s = [0, 1, 4294967295];
  const int64s = [Number.MIN_SAFE_INTEGER, -(2 ** 32), -1, 0, 1, 2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER];
  const float64s = [0, -0.5, 1.5, Math.PI, Number.MAX_VALUE, -Infinity];
  const buffer = encode((writer) => {
    for (const value of int8s) writer.writeInt8(value);
    for (const value of int16s) writer.writeInt16(value);
    for (const value of uint16s) writer.writeUInt16(value);
    for (const value of int32s) writer.writeInt32(value);
    for (const value of uint32s) writer.writeUInt32(value);
    for (const value of int64s) writer.writeInt64(value);
    for (const value of float64s) writer.writeFloat64(value);
    writer.writeBoolean(true).writeBoolean(false);
  });
  const reader = new Reader(buffer);
  for (const value of int8s) assert.equal(reader.readInt8(), value);
  for (const value of int16s) assert.equal(reader.readInt16(), value);
  for (const value of uint16s) assert.equal(reader.readUInt16(), value);
  for (const value of int32s) assert.equal(reader.readInt32(), value);
  for (const value of uint32s) assert.equal(reader.readUInt32(), value);
  for (const value of int64s) assert.equal(reader.readInt64(), value);
  for (const value of float64s) assert.equal(reader.readFloat64(), value);
  assert.equal(reader.readBoolean(), true);
  assert.equal(reader.readBoolean(), false);
  assert.equal(reader.remaining, 0);
});

test('int64 has the big-endian two-complement form and clamps outside the safe range', () => {
  assert.deepEqual(encode((writer) => writer.writeInt64(-1)), bytes('ffffffffffffffff'));
  assert.deepEqual(encode((writer) => writer.writeInt64(0x0102030405)), bytes('0000000102030405'));
  assert.deepEqual(encode((writer) => writer.writeInt64(-(2 ** 32))), bytes('ffffffff00000000'));
  assert.equal(new Reader(bytes('7fffffffffffffff')).readInt64(), Number.MAX_SAFE_INTEGER);
  assert.equal(new Reader(bytes('8000000000000000')).readInt64(), Number.MIN_SAFE_INTEGER);
  assert.equal(new Reader(bytes('0020000000000000')).readInt64(), Number.MAX_SAFE_INTEGER); // 2^53
  assert.equal(new Reader(bytes('001fffffffffffff')).readInt64(), Number.MAX_SAFE_INTEGER); // 2^53-1 exact
  const written = encode((writer) => writer.writeInt64(2 ** 60));
  assert.equal(new Reader(written).readInt64(), Number.MAX_SAFE_INTEGER);
});

test('varints match the Kafka/protobuf byte forms', () => {
  const unsigned: [number, string][] = [
    [0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [16383, 'ff7f'], [16384, '808001'],
    [2147483647, 'ffffffff07'], [4294967295, 'ffffffff0f'],
  ];
  for (const [value, hex] of unsigned) {
    assert.deepEqual(encode((writer) => writer.writeUnsignedVarint(value)), bytes(hex), `uvarint ${value}`);
    assert.equal(new Reader(bytes(hex)).readUnsignedVarint(), value);
  }
  const zigzag: [number, string][] = [
    [0, '00'], [-1, '01'], [1, '02'], [-2, '03'], [63, '7e'], [-64, '7f'], [64, '8001'],
    [2147483647, 'feffffff0f'], [-2147483648, 'ffffffff0f'],
  ];
  for (const [value, hex] of zigzag) {
    assert.deepEqual(encode((writer) => writer.writeVarint(value)), bytes(hex), `varint ${value}`);
    assert.equal(new Reader(bytes(hex)).readVarint(), value);
    assert.deepEqual(encode((writer) => writer.writeVarlong(value)), bytes(hex), `varlong ${value}`);
    assert.equal(new Reader(bytes(hex)).readVarlong(), value);
  }
  const longs: [number, string][] = [
    [2147483648, '8080808010'],
    [-2147483649, '8180808010'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
    [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
  ];
  for (const [value, hex] of longs) {
    assert.deepEqual(encode((writer) => writer.writeVarlong(value)), bytes(hex), `varlong ${value}`);
    assert.equal(new Reader(bytes(hex)).readVarlong(), value);
  }
  // Long.MAX_VALUE / MIN_VALUE zigzag forms clamp.
  assert.equal(new Reader(bytes('feffffffffffffffff01')).readVarlong(), Number.MAX_SAFE_INTEGER);
  assert.equal(new Reader(bytes('ffffffffffffffffff01')).readVarlong(), Number.MIN_SAFE_INTEGER);
});

test('over-long or oversized varints are ProtocolErrors', () => {
  assert.throws(() => new Reader(bytes('8080808080')).readUnsignedVarint(), ProtocolError);
  assert.throws(() => new Reader(bytes('ffffffff1f')).readUnsignedVarint(), ProtocolError); // > 32 bits
  assert.throws(() => new Reader(bytes('8080808080808080808001')).readVarlong(), ProtocolError);
  assert.throws(() => new Reader(bytes('80')).readUnsignedVarint(), ProtocolError);
  assert.throws(() => new Reader(bytes('')).readVarlong(), ProtocolError);
});

test('property: numbers round trip', () => {
  fc.assert(fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (value) => {
    const buffer = encode((writer) => writer.writeInt32(value).writeVarint(value).writeVarlong(value));
    const reader = new Reader(buffer);
    return reader.readInt32() === value && reader.readVarint() === value && reader.readVarlong() === value;
  }));
  fc.assert(fc.property(fc.maxSafeInteger(), (value) => {
    const buffer = encode((writer) => writer.writeInt64(value).writeVarlong(value));
    const reader = new Reader(buffer);
    return reader.readInt64() === value && reader.readVarlong() === value && reader.remaining === 0;
  }));
  fc.assert(fc.property(fc.integer({ min: 0, max: 4294967295 }), (value) => {
    return new Reader(encode((writer) => writer.writeUnsignedVarint(value))).readUnsignedVarint() === value;
  }));
});

test('property: strings and bytes round trip in all four forms', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.uint8Array({ maxLength: 2000 }), (text, raw) => {
    const data = Buffer.from(raw);
    const buffer = encode((writer) => {
      writer.writeString(text).writeCompactString(text).writeNullableString(text).writeCompactNullableString(text);
      writer.writeBytes(data).writeCompactBytes(data).writeNullableBytes(data).writeCompactNullableBytes(data);
    });
    const reader = new Reader(buffer);
    const expectedText = Buffer.from(text, 'utf8').toString('utf8'); // lone surrogates become U+FFFD
    assert.equal(reader.readString(), expectedText);
    assert.equal(reader.readCompactString(), expectedText);
    assert.equal(reader.readNullableString(), expectedText);
    assert.equal(reader.readCompactNullableString(), expectedText);
    assert.deepEqual(reader.readBytes(), data);
    assert.deepEqual(reader.readCompactBytes(), data);
    assert.deepEqual(reader.readNullableBytes(), data);
    assert.deepEqual(reader.readCompactNullableBytes(), data);
    assert.equal(reader.remaining, 0);
  }));
});

test('null forms: -1 lengths and compact 0', () => {
  const buffer = encode((writer) => {
    writer.writeNullableString(null).writeCompactNullableString(null);
    writer.writeNullableBytes(null).writeCompactNullableBytes(null);
    writer.writeNullableArray(null, writeInt32Element, 0).writeCompactNullableArray(null, writeInt32Element, 0);
  });
  assert.deepEqual(buffer, bytes('ffff 00 ffffffff 00 ffffffff 00'));
  const reader = new Reader(buffer);
  assert.equal(reader.readNullableString(), null);
  assert.equal(reader.readCompactNullableString(), null);
  assert.equal(reader.readNullableBytes(), null);
  assert.equal(reader.readCompactNullableBytes(), null);
  assert.equal(reader.readNullableArray(readInt32Element, 0, 4), null);
  assert.equal(reader.readCompactNullableArray(readInt32Element, 0, 4), null);
});

test('negative lengths other than -1, and null where not allowed, are ProtocolErrors', () => {
  assert.throws(() => new Reader(bytes('fffe')).readNullableString(), ProtocolError);
  assert.throws(() => new Reader(bytes('ffff')).readString(), ProtocolError);
  assert.throws(() => new Reader(bytes('8000')).readNullableString(), ProtocolError);
  assert.throws(() => new Reader(bytes('fffffffe')).readNullableBytes(), ProtocolError);
  assert.throws(() => new Reader(bytes('ffffffff')).readBytes(), ProtocolError);
  assert.throws(() => new Reader(bytes('80000000')).readNullableArray(readInt32Element, 0, 4), ProtocolError);
  assert.throws(() => new Reader(bytes('ffffffff')).readArray(readInt32Element, 0, 4), ProtocolError);
  assert.throws(() => new Reader(bytes('00')).readCompactString(), ProtocolError);
  assert.throws(() => new Reader(bytes('00')).readCompactBytes(), ProtocolError);
  assert.throws(() => new Reader(bytes('00')).readCompactArray(readInt32Element, 0, 4), ProtocolError);
});

test('lengths beyond the bytes left fail before allocating', () => {
  assert.throws(() => new Reader(bytes('0005 6162')).readString(), ProtocolError);
  assert.throws(() => new Reader(bytes('7fffffff 00')).readBytes(), ProtocolError);
  assert.throws(() => new Reader(bytes('ffffffff0f')).readCompactBytes(), ProtocolError);
  // 2^31-1 int32 elements in 4 bytes: refused by the count check, not by running out mid-loop.
  const huge = new Reader(bytes('7fffffff 00000001'));
  assert.throws(() => huge.readArray(readInt32Element, 0, 4), /cannot fit/);
  // Two int32 elements need 8 bytes; 7 are left.
  assert.throws(() => new Reader(bytes('00000002 00000000000000')).readArray(readInt32Element, 0, 4), /cannot fit/);
  assert.deepEqual(new Reader(bytes('00000002 0000000100000002')).readArray(readInt32Element, 0, 4), [1, 2]);
});

test('tagged-field counts and sizes are bounded', () => {
  assert.throws(() => new Reader(bytes('c0843d')).readTaggedFieldCount(), ProtocolError); // 1,000,000
  assert.throws(() => new Reader(bytes('02 0000')).readTaggedFieldCount(), ProtocolError); // 2 fields need >= 4 bytes
  assert.equal(new Reader(bytes('02 00000000')).readTaggedFieldCount(), 2);
  const many = Buffer.alloc(3 + (MAX_TAGGED_FIELDS + 1) * 2);
  new Writer().writeUnsignedVarint(MAX_TAGGED_FIELDS + 1).toBuffer().copy(many);
  assert.throws(() => new Reader(many).readTaggedFieldCount(), ProtocolError);
  // skip: tag 5, size 2, two bytes; then tag 9 claiming 100 bytes.
  const reader = new Reader(bytes('01 05 02 abcd'));
  reader.skipTaggedFields();
  assert.equal(reader.remaining, 0);
  assert.throws(() => new Reader(bytes('01 09 64 00')).skipTaggedFields(), ProtocolError);
});

test('uuids are 32 lowercase hex characters', () => {
  const id = '0123456789abcdef0123456789abcdef';
  const buffer = encode((writer) => writer.writeUuid(id).writeUuid(ZERO_UUID));
  assert.deepEqual(buffer.subarray(0, 16), bytes(id));
  const reader = new Reader(buffer);
  assert.equal(reader.readUuid(), id);
  assert.equal(reader.readUuid(), ZERO_UUID);
  assert.throws(() => new Writer().writeUuid('0123456789ABCDEF0123456789ABCDEF'), ProtocolError);
  assert.throws(() => new Writer().writeUuid('abc'), ProtocolError);
});

test('bytes decode as views into the input, not copies', () => {
  const input = bytes('00000003 010203');
  const view = new Reader(input).readBytes();
  input[5] = 0x7f;
  assert.equal(view[1], 0x7f);
});

test('large buffers are embedded by reference; small ones copied; sizes patch across chunks', () => {
  const big = Buffer.alloc(4096, 7);
  const writer = new Writer(64);
  const sizeOffset = writer.reserveInt32();
  writer.writeInt16(1);
  writer.writeRaw(big);
  writer.writeString('after');
  for (let index = 0; index < 100; index++) writer.writeInt64(index); // forces growth
  writer.patchInt32(sizeOffset, writer.length - 4);
  const chunks = writer.toChunks();
  assert.ok(chunks.includes(big), 'the big buffer is one of the chunks');
  const joined = writer.toBuffer();
  assert.equal(joined.length, writer.length);
  const reader = new Reader(joined);
  assert.equal(reader.readInt32(), joined.length - 4);
  assert.equal(reader.readInt16(), 1);
  assert.deepEqual(reader.readRaw(4096), big);
  assert.equal(reader.readString(), 'after');
  for (let index = 0; index < 100; index++) assert.equal(reader.readInt64(), index);
  assert.equal(reader.remaining, 0);
});

test('every read past the end is a ProtocolError, including sub-readers', () => {
  const reader = new Reader(bytes('0102030405'), 1, 3);
  assert.equal(reader.readInt16(), 0x0203);
  assert.throws(() => reader.readInt8(), ProtocolError);
  const outer = new Reader(bytes('aabbccdd'));
  const inner = outer.sub(2);
  assert.equal(outer.readInt16(), 0xccdd - 0x10000);
  assert.equal(inner.readInt16(), 0xaabb - 0x10000);
  assert.throws(() => inner.readInt8(), ProtocolError);
  assert.throws(() => new Reader(bytes('00')).sub(2), ProtocolError);
  assert.throws(() => new Reader(bytes('00')).skip(-1), ProtocolError);
  for (const read of ['readInt16', 'readInt32', 'readInt64', 'readFloat64', 'readUuid', 'readUInt32'] as const) {
    assert.throws(() => new Reader(bytes('01'))[read](), ProtocolError, read);
  }
});

test('encoding null into a non-nullable form is a ProtocolError', () => {
  assert.throws(() => new Writer().writeString(null), ProtocolError);
  assert.throws(() => new Writer().writeCompactBytes(null), ProtocolError);
  assert.throws(() => new Writer().writeArray(null, writeInt32Element, 0), ProtocolError);
  assert.throws(() => new Writer().writeString('x'.repeat(40000)), ProtocolError);
});
