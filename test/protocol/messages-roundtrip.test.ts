// Proves the generated codecs for EVERY API and data struct in EVERY version: a
// representative value (nested arrays with elements, tagged fields set, nullable fields set
// and, in a second pass, null) encodes, decodes to a deep-equal value consuming every byte,
// and re-encodes to identical bytes. Also checks the registry's metadata (header versions,
// version checks, api keys) and that omitted tagged fields encode as their defaults.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import { ProtocolError } from '../../src/protocol/protocol-error.ts';
import { ApiKey } from '../../src/protocol/api-keys.ts';
import { apiCodecs, dataCodecs, fetchCodec, defaultFetchResponsePartitionData } from '../../src/protocol/messages/index.ts';
import type { FetchResponse } from '../../src/protocol/messages/index.ts';
import { apiShapes, dataShapes } from '../../src/protocol/messages/shapes.ts';
import { sampleStruct } from './sample-values.ts';
import type { SampleVariant } from './sample-values.ts';

const variants: SampleVariant[] = ['filled', 'nulls'];

type Encode = (writer: Writer, version: number, value: unknown) => void;
type Decode = (reader: Reader, version: number) => unknown;

function roundTrip(label: string, structName: string, version: number, encode: Encode, decode: Decode): void {
  for (const variant of variants) {
    const value = sampleStruct(structName, version, variant);
    const writer = new Writer(32);
    encode(writer, version, value);
    const encoded = writer.toBuffer();
    const reader = new Reader(encoded);
    const decoded = decode(reader, version);
    const where = `${label} v${version} (${variant})`;
    assert.equal(reader.remaining, 0, `${where}: decode left bytes`);
    assert.deepStrictEqual(decoded, value, where);
    const again = new Writer(32);
    encode(again, version, decoded);
    assert.deepEqual(again.toBuffer(), encoded, `${where}: re-encoding differs`);
  }
}

for (const api of apiShapes) {
  test(`${api.name} (${api.apiKey}) round trips in every version`, () => {
    const codec = apiCodecs.get(api.apiKey);
    assert.ok(codec, `codec for ${api.name}`);
    for (let version = codec.minVersion; version <= codec.maxVersion; version++) {
      roundTrip(api.request, api.request, version,
        (writer, v, value) => codec.encodeRequest(writer, v, value), (reader, v) => codec.decodeRequest(reader, v));
      roundTrip(api.response, api.response, version,
        (writer, v, value) => codec.encodeResponse(writer, v, value), (reader, v) => codec.decodeResponse(reader, v));
    }
  });
}

test('data and header structs round trip in every version', () => {
  assert.equal(dataCodecs.size, dataShapes.length);
  for (const name of dataShapes) {
    const codec = dataCodecs.get(name)!;
    for (let version = codec.minVersion; version <= codec.maxVersion; version++) {
      roundTrip(name, name, version, (writer, v, value) => codec.encode(writer, v, value), (reader, v) => codec.decode(reader, v));
    }
  }
});

test('the registry covers every api key with consistent metadata', () => {
  assert.equal(apiCodecs.size, Object.keys(ApiKey).length);
  for (const [name, key] of Object.entries(ApiKey)) {
    const codec = apiCodecs.get(key);
    assert.ok(codec, name);
    assert.equal(codec.name, name);
    assert.equal(codec.apiKey, key);
    assert.ok(codec.minVersion <= codec.maxVersion);
  }
  const produce = apiCodecs.get(ApiKey.Produce)!;
  assert.deepEqual([produce.minVersion, produce.maxVersion, produce.flexibleFrom], [0, 11, 9]);
  assert.equal(produce.requestHeaderVersion(8), 1);
  assert.equal(produce.requestHeaderVersion(9), 2);
  assert.equal(produce.responseHeaderVersion(8), 0);
  assert.equal(produce.responseHeaderVersion(9), 1);
  const apiVersions = apiCodecs.get(ApiKey.ApiVersions)!;
  assert.equal(apiVersions.requestHeaderVersion(3), 2);
  for (let version = 0; version <= apiVersions.maxVersion; version++) {
    assert.equal(apiVersions.responseHeaderVersion(version), 0, 'ApiVersions responses always use header v0');
  }
  const controlledShutdown = apiCodecs.get(ApiKey.ControlledShutdown)!;
  assert.equal(controlledShutdown.requestHeaderVersion(0), 0);
  assert.equal(controlledShutdown.requestHeaderVersion(1), 1);
  const saslHandshake = apiCodecs.get(ApiKey.SaslHandshake)!;
  assert.equal(saslHandshake.flexibleFrom, null);
  assert.equal(saslHandshake.requestHeaderVersion(1), 1);
});

test('versions outside the schema range are UNSUPPORTED_VERSION ProtocolErrors', () => {
  const codec = apiCodecs.get(ApiKey.Metadata)!;
  for (const version of [-1, codec.maxVersion + 1]) {
    assert.throws(() => codec.decodeRequest(new Reader(Buffer.alloc(64)), version),
      (error: unknown) => error instanceof ProtocolError && error.errorCode === 35);
    assert.throws(() => codec.encodeResponse(new Writer(), version, {}),
      (error: unknown) => error instanceof ProtocolError && error.errorCode === 35);
  }
});

test('tagged fields left undefined encode as absent and decode as their defaults', () => {
  const partition = { ...defaultFetchResponsePartitionData(), partitionIndex: 3, records: Buffer.from('abc') } as Record<string, unknown>;
  delete partition.divergingEpoch;
  delete partition.currentLeader;
  delete partition.snapshotId;
  const response = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: '', topicId: 'ab'.repeat(16), partitions: [partition] }] };
  const writer = new Writer();
  fetchCodec.encodeResponse(writer, 16, response as unknown as FetchResponse);
  const decoded = fetchCodec.decodeResponse(new Reader(writer.toBuffer()), 16);
  const got = decoded.responses[0]!.partitions[0]!;
  assert.deepEqual(got.currentLeader, { leaderId: -1, leaderEpoch: -1 });
  assert.deepEqual(got.divergingEpoch, { epoch: -1, endOffset: -1 });
  assert.deepEqual(decoded.nodeEndpoints, []);
  assert.deepEqual(got.records, Buffer.from('abc'));
  assert.equal(decoded.responses[0]!.topic, '', 'topic name is absent in v13+ and decodes as the default');
});
