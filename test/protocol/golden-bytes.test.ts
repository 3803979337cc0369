// Proves byte-exact agreement with the Kafka spec on hand-built encodings (written from
// RequestHeader.json / ResponseHeader.json and the message schemas, not from our encoder):
// request headers v0/v1/v2, response headers v0/v1, the ApiVersions v3 request librdkafka
// and @platformatic/kafka send first, its header-v0 response, and a Metadata v4 request as
// kcat sends it. Also that unknown tagged fields in a request are skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../src/protocol/reader.ts';
import { Writer } from '../../src/protocol/writer.ts';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from '../../src/protocol/header.ts';
import {
  decodeRequestPayload,
  decodeResponsePayload,
  encodeRequestFrame,
  encodeResponseFrame,
  frameToBuffer,
} from '../../src/protocol/frame.ts';
import {
  apiCodecs,
  apiVersionsCodec,
  controlledShutdownCodec,
  heartbeatCodec,
  metadataCodec,
} from '../../src/protocol/messages/index.ts';
import type { ApiVersionsRequest, ApiVersionsResponse } from '../../src/protocol/messages/index.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

const lookup = (apiKey: number) => apiCodecs.get(apiKey);

test('request header v0, v1, v2 byte forms', () => {
  const header = { apiKey: 3, apiVersion: 4, correlationId: 7, clientId: 'rdkafka' };
  const v0 = new Writer();
  encodeRequestHeader(v0, 0, header);
  assert.deepEqual(v0.toBuffer(), hex('0003 0004 00000007'));
  const v1 = new Writer();
  encodeRequestHeader(v1, 1, header);
  assert.deepEqual(v1.toBuffer(), hex('0003 0004 00000007 0007 72646b61666b61'));
  const v2 = new Writer();
  encodeRequestHeader(v2, 2, header);
  // Client id keeps its int16 length even in the flexible header; then empty tagged fields.
  assert.deepEqual(v2.toBuffer(), hex('0003 0004 00000007 0007 72646b61666b61 00'));
  assert.deepEqual(decodeRequestHeader(new Reader(hex('0003 0004 00000007 0007 72646b61666b61 00')), 2), header);
  assert.deepEqual(decodeRequestHeader(new Reader(hex('0003 0004 00000007 ffff')), 1), { ...header, clientId: null });
  assert.deepEqual(decodeRequestHeader(new Reader(hex('0007 0000 0000002a')), 0), {
    apiKey: 7, apiVersion: 0, correlationId: 42, clientId: null,
  });
});

test('response header v0 and v1 byte forms', () => {
  const v0 = new Writer();
  encodeResponseHeader(v0, 0, 0x01020304);
  assert.deepEqual(v0.toBuffer(), hex('01020304'));
  const v1 = new Writer();
  encodeResponseHeader(v1, 1, 0x01020304);
  assert.deepEqual(v1.toBuffer(), hex('01020304 00'));
  assert.equal(decodeResponseHeader(new Reader(hex('01020304 01 05 01 ff')), 1), 0x01020304);
});

test('ApiVersions v3 request as librdkafka sends it', () => {
  // size 36 | key 18, version 3, correlation 1, client id "rdkafka" (int16 length), no tags |
  // client_software_name compact "librdkafka", client_software_version compact "2.0.2", no tags
  const frame = hex(`
    00000024
    0012 0003 00000001 0007 72646b61666b61 00
    0b 6c69627264 6b61666b61
    06 322e302e32
    00`);
  const body: ApiVersionsRequest = { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' };
  assert.deepEqual(frameToBuffer(encodeRequestFrame(apiVersionsCodec, 3, 1, 'rdkafka', body)), frame);
  const decoded = decodeRequestPayload(frame.subarray(4), lookup);
  assert.deepEqual(decoded.header, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
  assert.deepEqual(decoded.body, body);
  assert.equal(decoded.trailingBytes, 0);
});

test('ApiVersions v3 response uses header v0 (no tagged byte after the correlation id)', () => {
  const response: ApiVersionsResponse = {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
  // size 19 | correlation 1 | error 0, api_keys compact [1]: (18, 0, 4, no tags), throttle 0, no tags
  const frame = hex('00000013 00000001 0000 02 0012 0000 0004 00 00000000 00');
  assert.deepEqual(frameToBuffer(encodeResponseFrame(apiVersionsCodec, 3, 1, response)), frame);
  assert.deepEqual(decodeResponsePayload(apiVersionsCodec, 3, frame.subarray(4)), { correlationId: 1, body: response });
  // v0 answer (what a broker sends for UNSUPPORTED_VERSION): error 35, int32 array.
  const v0 = frameToBuffer(encodeResponseFrame(apiVersionsCodec, 0, 9, { ...response, errorCode: 35 }));
  assert.deepEqual(v0, hex('00000010 00000009 0023 00000001 0012 0000 0004'));
});

test('Metadata v4 request as kcat sends it, and a ControlledShutdown v0 frame with header v0', () => {
  // kcat 1.7.1: client id "rdkafka", topics null (all topics), allow_auto_topic_creation true.
  const metadataFrame = hex('00000016 0003 0004 00000002 0007 72646b61666b61 ffffffff 01');
  const decoded = decodeRequestPayload(metadataFrame.subarray(4), lookup);
  assert.deepEqual(decoded.body, {
    topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  assert.deepEqual(frameToBuffer(encodeRequestFrame(metadataCodec, 4, 2, 'rdkafka', decoded.body as never)), metadataFrame);
  const shutdown = frameToBuffer(encodeRequestFrame(controlledShutdownCodec, 0, 42, 'ignored',
    { brokerId: 5, brokerEpoch: -1 }));
  assert.deepEqual(shutdown, hex('0000000c 0007 0000 0000002a 00000005'));
});

test('Heartbeat v4 response uses header v1 and flexible encodings', () => {
  const frame = frameToBuffer(encodeResponseFrame(heartbeatCodec, 4, 0x0a, { throttleTimeMs: 0, errorCode: 27 }));
  // size 12 | correlation 10, header tags | throttle 0, error 27 (REBALANCE_IN_PROGRESS), tags
  assert.deepEqual(frame, hex('0000000c 0000000a 00 00000000 001b 00'));
});

test('unknown tagged fields in a flexible request are skipped', () => {
  // ApiVersions v3 with a tagged field 99 (3 bytes) in the header and tag 7 in the body.
  const payload = hex('0012 0003 00000001 0001 78 01 63 03 aabbcc  02 61 02 31 01 07 01 ff');
  const decoded = decodeRequestPayload(payload, lookup);
  assert.deepEqual(decoded.body, { clientSoftwareName: 'a', clientSoftwareVersion: '1' });
  assert.equal(decoded.trailingBytes, 0);
});
