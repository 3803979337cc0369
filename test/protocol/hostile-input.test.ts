// Proves the decoders survive hostile input: huge declared array counts (CVE-2022-34917)
// and tagged-field counts fail fast with ProtocolError before any loop or allocation;
// negative lengths other than -1 are refused; every truncation of every valid encoding of
// every API version fails with ProtocolError (never another exception type, never a hang);
// random byte corruption yields either a value or a ProtocolError.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import { ProtocolError } from '../../src/protocol/protocol-error.ts';
import { decodeRequestPayload } from '../../src/protocol/frame.ts';
import { apiCodecs } from '../../src/protocol/messages/index.ts';
import type { ApiCodec } from '../../src/protocol/messages/index.ts';
import { apiShapes } from '../../src/protocol/messages/shapes.ts';
import { sampleStruct } from './sample-values.ts';

const lookup = (apiKey: number): ApiCodec | undefined => apiCodecs.get(apiKey);

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function isProtocolError(error: unknown): boolean {
  return error instanceof ProtocolError;
}

test('CVE-2022-34917: a tiny Produce declaring 2^31-1 topics is refused before looping', () => {
  // Produce v3, header v1: key 0, version 3, correlation 1, client id "x";
  // body: transactional id null, acks 1, timeout 3000, topic count 0x7fffffff, 4 bytes.
  const payload = hex('0000 0003 00000001 0001 78  ffff 0001 00000bb8 7fffffff 00000000');
  const heapBefore = process.memoryUsage().heapUsed;
  assert.throws(() => decodeRequestPayload(payload, lookup), /cannot fit/);
  // Not a timing check: the refusal came from the count check, so nothing was allocated.
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024);
  // Same in the flexible form (v9: compact array, count+1 = 0xffffffff as uvarint).
  const flexible = hex('0000 0009 00000001 0001 78 00  00 0001 00000bb8 ffffffff0f 00');
  assert.throws(() => decodeRequestPayload(flexible, lookup), /cannot fit/);
  // Nested: one topic whose partition array claims 2^31-1 entries.
  const nested = hex('0000 0003 00000001 0001 78  ffff 0001 00000bb8 00000001 0001 74 7fffffff 0000');
  assert.throws(() => decodeRequestPayload(nested, lookup), /cannot fit/);
});

test('huge array counts in any api are refused by the count check', () => {
  // Metadata v4 topics, JoinGroup v5 protocols, OffsetFetch v7 groups... all share the
  // reader's count check; exercise arrays of primitives and of structs.
  const metadataTopics = hex('0003 0004 00000001 ffff  7fffffff 01');
  assert.throws(() => decodeRequestPayload(metadataTopics, lookup), /cannot fit/);
  const isrNodes = new Writer();
  // MetadataResponse v1: brokers [] , controller id, topics [1 topic: error, name, internal,
  // partitions [1: error, index, leader, replicas count huge]].
  isrNodes.writeInt32(0).writeInt32(1).writeInt32(1).writeInt16(0).writeString('t').writeBoolean(false);
  isrNodes.writeInt32(1).writeInt16(0).writeInt32(0).writeInt32(1).writeInt32(0x7ffffff0);
  const metadata = apiCodecs.get(3)!;
  assert.throws(() => metadata.decodeResponse(new Reader(isrNodes.toBuffer()), 1), /cannot fit/);
});

test('a header declaring millions of tagged fields is a ProtocolError', () => {
  // ApiVersions v3 (header v2): key 18, version 3, correlation 7, client id "x",
  // then tagged-field count 5,000,000 (uvarint c0 96 b1 02).
  const payload = hex('0012 0003 00000007 0001 78 c096b102 00');
  assert.throws(() => decodeRequestPayload(payload, lookup), (error) => isProtocolError(error) && /tagged field count/.test(String(error)));
  // Within the 10,000 cap but more than the bytes left allow.
  const small = hex('0012 0003 00000007 0001 78 e807 0000');
  assert.throws(() => decodeRequestPayload(small, lookup), /tagged field count/);
  // In a body struct too.
  const body = hex('0012 0003 00000007 0001 78 00  02 61 02 31 c096b102');
  assert.throws(() => decodeRequestPayload(body, lookup), /tagged field count/);
});

test('negative lengths other than -1 are ProtocolErrors', () => {
  const cases = [
    hex('0000 0003 00000001 fffe'), // client id length -2
    hex('0000 0003 00000001 0001 78 fffe 0001 00000bb8 00000000'), // transactional id -2
    hex('0000 0003 00000001 0001 78 ffff 0001 00000bb8 fffffffe'), // topic count -2
    hex('0000 0003 00000001 0001 78 ffff 0001 00000bb8 00000001 0001 74 00000001 00000000 fffffffe'), // records -2
    hex('0000 0003 00000001 0001 78 ffff 0001 00000bb8 00000001 ffff'), // non-nullable topic name -1
    hex('0003 0004 00000001 0001 78 80000000 01'), // metadata topics int32 min
  ];
  for (const payload of cases) {
    assert.throws(() => decodeRequestPayload(payload, lookup), isProtocolError, payload.toString('hex'));
  }
  // -1 is fine where nullable: Produce v3 records null.
  const nullRecords = hex('0000 0003 00000001 0001 78 ffff 0001 00000bb8 00000001 0001 74 00000001 00000000 ffffffff');
  const decoded = decodeRequestPayload(nullRecords, lookup).body as { topicData: { partitionData: { records: unknown }[] }[] };
  assert.equal(decoded.topicData[0]!.partitionData[0]!.records, null);
});

test('unknown api keys and versions stop after the 8-byte prefix (KAFKA-5062)', () => {
  // Garbage after the prefix must not be parsed.
  assert.throws(() => decodeRequestPayload(hex('0fff 0000 00000001 ffffffff'), lookup), /unknown api key/);
  assert.throws(() => decodeRequestPayload(hex('0000 00ff 00000001 fffe'), lookup),
    (error) => error instanceof ProtocolError && error.errorCode === 35);
  assert.throws(() => decodeRequestPayload(hex('0000 00'), lookup), isProtocolError);
});

// Every API, every version, request and response: all cut points of a valid encoding fail
// with ProtocolError, and the full encoding decodes.
test('every truncation of every valid encoding is a ProtocolError', () => {
  let cuts = 0;
  for (const api of apiShapes) {
    const codec = apiCodecs.get(api.apiKey)!;
    for (let version = codec.minVersion; version <= codec.maxVersion; version++) {
      const sides = [
        { value: sampleStruct(api.request, version, 'filled'), encode: codec.encodeRequest, decode: codec.decodeRequest },
        { value: sampleStruct(api.response, version, 'filled'), encode: codec.encodeResponse, decode: codec.decodeResponse },
      ];
      for (const side of sides) {
        const writer = new Writer();
        side.encode.call(codec, writer, version, side.value);
        const encoded = writer.toBuffer();
        for (let cut = 0; cut < encoded.length; cut++) {
          cuts++;
          const reader = new Reader(encoded, 0, cut);
          assert.throws(() => side.decode.call(codec, reader, version), isProtocolError,
            `${api.name} v${version} cut at ${cut}/${encoded.length}`);
        }
      }
    }
  }
  assert.ok(cuts > 10_000, `exercised ${cuts} cut points`);
});

test('property: corrupted encodings decode or throw ProtocolError, nothing else', () => {
  const encodings: { codec: ApiCodec; version: number; request: boolean; bytes: Buffer }[] = [];
  for (const api of apiShapes) {
    const codec = apiCodecs.get(api.apiKey)!;
    for (const version of [codec.minVersion, codec.maxVersion]) {
      for (const request of [true, false]) {
        const writer = new Writer();
        const value = sampleStruct(request ? api.request : api.response, version, 'filled');
        if (request) codec.encodeRequest(writer, version, value);
        else codec.encodeResponse(writer, version, value);
        encodings.push({ codec, version, request, bytes: writer.toBuffer() });
      }
    }
  }
  fc.assert(
    fc.property(
      fc.nat({ max: encodings.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (index, edits) => {
        const { codec, version, request, bytes } = encodings[index]!;
        const corrupted = Buffer.from(bytes);
        for (const [position, value] of edits) corrupted[position % corrupted.length] = value;
        try {
          const reader = new Reader(corrupted);
          if (request) codec.decodeRequest(reader, version);
          else codec.decodeResponse(reader, version);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
        }
      },
    ),
    { numRuns: 5000, seed: 20240601 },
  );
});
