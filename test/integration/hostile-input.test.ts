// Proves bad input never takes the node down or damages data: oversized and garbage frames,
// the known Kafka decoder attacks (CVE-2022-34917 huge array in a tiny frame, millions of tagged
// fields in a header, KAFKA-5062 body before key/version checks, KAFKA-3088 odd client ids), wrong
// magic, bad CRC and oversized batches each get a closed connection or the right error code,
// while another client on the same node keeps being served and the node's memory stays bounded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiVersionsCodec } from '../../src/protocol/messages/api-versions.ts';
import { metadataCodec, defaultMetadataRequest } from '../../src/protocol/messages/metadata.ts';
import { produceCodec, defaultProduceRequest } from '../../src/protocol/messages/produce.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readLog, removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';

let node: TideProcess;
let bystander: RawClient;

before(async () => {
  node = await startTide({ args: ['--socket.request.max.bytes', String(1024 * 1024), '--message.max.bytes', '10000'] });
  bystander = await RawClient.connect(node.kafkaPort);
});

after(async () => {
  bystander.close();
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'node still exits cleanly after all the abuse');
  await removeDir(node.dataDir);
});

/** The bystander connection still gets correct answers. */
async function nodeStillServes(): Promise<void> {
  const response = await bystander.send(metadataCodec, 9, { ...defaultMetadataRequest(), topics: null });
  assert.equal(response.brokers.length, 1);
}

function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

function header(apiKey: number, apiVersion: number, correlationId: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeInt16BE(apiKey, 0);
  bytes.writeInt16BE(apiVersion, 2);
  bytes.writeInt32BE(correlationId, 4);
  return bytes;
}

async function expectClosed(bytes: Buffer): Promise<void> {
  const client = await RawClient.connect(node.kafkaPort);
  await assert.rejects(client.exchange(bytes, 5000), /closed/);
  client.close();
}

test('a frame above socket.request.max.bytes closes that connection only', async () => {
  const claim = Buffer.alloc(4);
  claim.writeInt32BE(0x7fffffff);
  await expectClosed(claim);
  await nodeStillServes();
});

test('garbage bytes and a TLS hello close the connection', async () => {
  await expectClosed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await expectClosed(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]));
  await expectClosed(frame(Buffer.from([1, 2, 3])));
  await nodeStillServes();
});

test('CVE-2022-34917: a tiny frame declaring a 2^31 array is refused without allocating', async () => {
  // Metadata v4 request: header v1 (client id null) then topics array count 0x7fffffff.
  const body = Buffer.concat([header(3, 4, 7), Buffer.from([0xff, 0xff]), Buffer.from([0x7f, 0xff, 0xff, 0xff])]);
  await expectClosed(frame(body));
  await nodeStillServes();
});

test('a request header declaring millions of tagged fields is refused', async () => {
  // ApiVersions v3 uses header v2: client id, then a tagged-field count as an unsigned varint (20,000,000).
  const count = Buffer.from([0x80, 0xda, 0xc4, 0x09]);
  const body = Buffer.concat([header(18, 3, 8), Buffer.from([0x00, 0x00]), count, Buffer.alloc(16)]);
  await expectClosed(frame(body));
  await nodeStillServes();
});

test('KAFKA-5062: an unknown API key closes before the body is read, and is logged', async () => {
  const body = Buffer.concat([header(999, 0, 9), Buffer.alloc(64, 0xff)]);
  await expectClosed(frame(body));
  await nodeStillServes();
  assert.match(await readLog(node), /unknown or unsupported API key 999/);
});

test('an unknown ApiVersions version gets a v0 answer with UNSUPPORTED_VERSION and the real ranges', async () => {
  const client = await RawClient.connect(node.kafkaPort);
  const payload = await client.exchange(frame(Buffer.concat([header(18, 99, 10), Buffer.from([0, 0])])));
  client.close();
  const reader = new Reader(payload);
  assert.equal(reader.readInt32(), 10);
  const response = apiVersionsCodec.decodeResponse(reader, 0);
  assert.equal(response.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  const produce = response.apiKeys.find((api) => api.apiKey === 0);
  assert.deepEqual(produce && [produce.minVersion, produce.maxVersion], [0, 11]);
});

test('KAFKA-3088: empty, missing and absurd client ids do not crash the node', async () => {
  for (const clientId of [Buffer.from([0x00, 0x00]), Buffer.from([0xff, 0xff]), Buffer.from([0x7f, 0xff])]) {
    const client = await RawClient.connect(node.kafkaPort);
    // Metadata v1 with topics = null (-1).
    const bytes = frame(Buffer.concat([header(3, 1, 11), clientId, Buffer.from([0xff, 0xff, 0xff, 0xff])]));
    await client.exchange(bytes, 3000).catch(() => null);
    client.close();
  }
  await nodeStillServes();
});

async function produceRaw(records: Buffer, version = 7) {
  const client = await RawClient.connect(node.kafkaPort);
  try {
    const response = await client.send(produceCodec, version, { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: 'hostile', partitionData: [{ index: 0, records }] }] });
    return response.responses[0]!.partitionResponses[0]!;
  } finally {
    client.close();
  }
}

test('Produce errors: wrong magic, bad CRC, too large, old version', async () => {
  const created = await bystander.send(metadataCodec, 9, { ...defaultMetadataRequest(), topics: [{ topicId: '0'.repeat(32), name: 'hostile' }], allowAutoTopicCreation: true });
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE, 'Metadata auto-creates the topic');
  const good = buildRecordBatchSync({ records: [{ key: 'k', value: 'v' }] });
  assert.equal((await produceRaw(good)).errorCode, ErrorCode.NONE, 'a valid batch is accepted');

  const wrongMagic = Buffer.from(good);
  wrongMagic.writeInt8(1, 16);
  assert.equal((await produceRaw(wrongMagic)).errorCode, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);

  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1] ^= 0xff;
  assert.equal((await produceRaw(badCrc)).errorCode, ErrorCode.CORRUPT_MESSAGE);

  const large = buildRecordBatchSync({ records: [{ value: Buffer.alloc(20_000, 1) }] });
  assert.equal((await produceRaw(large)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);

  const truncated = good.subarray(0, good.length - 3);
  assert.equal((await produceRaw(truncated)).errorCode, ErrorCode.CORRUPT_MESSAGE);

  assert.equal((await produceRaw(good, 2)).errorCode, ErrorCode.UNSUPPORTED_VERSION);
  await nodeStillServes();
});

test('a flood of hostile connections leaves memory bounded and the node serving', async () => {
  const claim = Buffer.alloc(4);
  claim.writeInt32BE(1024 * 1024 - 1); // just under the limit: the node must not pre-allocate it
  const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(node.kafkaPort)));
  for (const client of clients) client.socket.write(claim); // slowloris: a big frame that never arrives
  await nodeStillServes();
  const rssKiB = Number((await import('node:fs')).readFileSync(`/proc/${node.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]);
  for (const client of clients) client.close();
  assert.ok(rssKiB < 400 * 1024, `node RSS ${rssKiB} KiB stays bounded with 200 half-sent 1 MiB frames`);
  await nodeStillServes();
});
