// Proves idempotent produce on a real node with exact bytes: the same Produce request sent twice is
// stored once and the retry is answered with the original offset; a sequence gap gets
// OUT_OF_ORDER_SEQUENCE_NUMBER and a fenced epoch INVALID_PRODUCER_EPOCH; deduplication survives a
// SIGKILL (replayed from the log) and a clean restart (from the snapshot); producer ids are never
// reused across restarts; transactional ids are refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { decodeResponsePayload, encodeRequestFrame, frameToBuffer } from '../../src/protocol/frame.ts';
import { initProducerIdCodec } from '../../src/protocol/messages/init-producer-id.ts';
import { defaultMetadataRequest, metadataCodec } from '../../src/protocol/messages/metadata.ts';
import { defaultProduceRequest, produceCodec, type ProduceResponsePartitionProduceResponse } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { readPartition } from '../helpers/read-all.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { killTide, makeTempDir, removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';

const produceVersion = 9;
let dataDir: string;
let node: TideProcess;
let client: RawClient;

before(async () => {
  dataDir = await makeTempDir();
  node = await startTide({ dataDir });
  client = await RawClient.connect(node.kafkaPort);
});

after(async () => {
  client.close();
  await stopTide(node);
  await removeDir(dataDir);
});

async function restart(how: 'kill' | 'stop'): Promise<void> {
  client.close();
  if (how === 'kill') await killTide(node);
  else assert.equal((await stopTide(node)).code, 0, 'clean stop');
  node = await startTide({ dataDir });
  client = await RawClient.connect(node.kafkaPort);
}

async function createTopic(topic: string): Promise<void> {
  const response = await client.send(metadataCodec, 9, { ...defaultMetadataRequest(), topics: [{ topicId: '0'.repeat(32), name: topic }], allowAutoTopicCreation: true });
  assert.equal(response.topics[0]!.errorCode, ErrorCode.NONE, `topic ${topic} created`);
}

async function initProducerId(version: number, current = { producerId: -1, producerEpoch: -1 }, transactionalId: string | null = null) {
  return client.send(initProducerIdCodec, version, { transactionalId, transactionTimeoutMs: 60_000, ...current });
}

interface Producer { producerId: number; producerEpoch: number }

/** The bytes of one Produce request (acks=all) carrying one idempotent batch. */
function produceFrame(topic: string, producer: Producer, baseSequence: number, values: string[], correlationId = 7): Buffer {
  const records = buildRecordBatchSync({ ...producer, baseSequence, records: values.map((value) => ({ value })) });
  const body = { ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
  return frameToBuffer(encodeRequestFrame(produceCodec, produceVersion, correlationId, 'tide-test', body));
}

async function sendProduce(frame: Buffer): Promise<ProduceResponsePartitionProduceResponse> {
  const payload = await client.exchange(frame);
  return decodeResponsePayload(produceCodec, produceVersion, payload).body.responses[0]!.partitionResponses[0]!;
}

async function storedValues(topic: string): Promise<string[]> {
  const { records } = await readPartition(node.kafkaPort, topic, 0);
  return records.map((record) => record.value!.toString());
}

async function newProducer(version = 1): Promise<Producer> {
  const response = await initProducerId(version);
  assert.equal(response.errorCode, ErrorCode.NONE);
  assert.ok(response.producerId >= 0);
  assert.equal(response.producerEpoch, 0);
  return { producerId: response.producerId, producerEpoch: response.producerEpoch };
}

test('the same Produce request sent twice is stored once; the retry gets the original offset', async () => {
  const topic = 'idem-twice';
  await createTopic(topic);
  const producer = await newProducer();
  const first = await sendProduce(produceFrame(topic, producer, 0, ['a', 'b', 'c']));
  assert.equal(first.errorCode, ErrorCode.NONE);
  assert.equal(first.baseOffset, 0);
  const second = await sendProduce(produceFrame(topic, producer, 3, ['d']));
  assert.equal(second.baseOffset, 3);

  const retryOfFirst = await sendProduce(produceFrame(topic, producer, 0, ['a', 'b', 'c']));
  assert.equal(retryOfFirst.errorCode, ErrorCode.NONE, 'a duplicate is answered without error');
  assert.equal(retryOfFirst.baseOffset, 0, 'with the original offset');
  const retryOfSecond = await sendProduce(produceFrame(topic, producer, 3, ['d']));
  assert.equal(retryOfSecond.baseOffset, 3);
  assert.deepEqual(await storedValues(topic), ['a', 'b', 'c', 'd']);

  // The identical bytes, pipelined on one connection: still one copy.
  const frame = produceFrame(topic, producer, 4, ['e']);
  const answers = await Promise.all([sendProduce(frame), sendProduce(frame)]);
  assert.deepEqual(answers.map((answer) => [answer.errorCode, answer.baseOffset]), [[ErrorCode.NONE, 4], [ErrorCode.NONE, 4]]);
  assert.deepEqual(await storedValues(topic), ['a', 'b', 'c', 'd', 'e']);
});

test('a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER and nothing is stored', async () => {
  const topic = 'idem-gap';
  await createTopic(topic);
  const producer = await newProducer();
  assert.equal((await sendProduce(produceFrame(topic, producer, 0, ['a', 'b']))).errorCode, ErrorCode.NONE);
  const gap = await sendProduce(produceFrame(topic, producer, 5, ['x']));
  assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(gap.baseOffset, -1);
  assert.equal((await sendProduce(produceFrame(topic, producer, 2, ['c']))).baseOffset, 2, 'the next in-sequence batch is accepted');
  assert.deepEqual(await storedValues(topic), ['a', 'b', 'c']);
});

test('after an epoch bump (InitProducerId v3+) the old epoch is INVALID_PRODUCER_EPOCH', async () => {
  const topic = 'idem-epoch';
  await createTopic(topic);
  const producer = await newProducer(4);
  assert.equal((await sendProduce(produceFrame(topic, producer, 0, ['old-0']))).errorCode, ErrorCode.NONE);

  const bumped = await initProducerId(4, producer);
  assert.equal(bumped.errorCode, ErrorCode.NONE);
  assert.equal(bumped.producerId, producer.producerId, 'the same id');
  assert.equal(bumped.producerEpoch, producer.producerEpoch + 1, 'the next epoch');
  const retriedBump = await initProducerId(4, producer);
  assert.deepEqual([retriedBump.producerId, retriedBump.producerEpoch], [bumped.producerId, bumped.producerEpoch], 'a retried bump is answered the same');

  const newEpoch = { producerId: bumped.producerId, producerEpoch: bumped.producerEpoch };
  assert.equal((await sendProduce(produceFrame(topic, newEpoch, 0, ['new-0']))).baseOffset, 1, 'the new epoch starts at sequence 0');
  const fenced = await sendProduce(produceFrame(topic, producer, 1, ['old-1']));
  assert.equal(fenced.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.deepEqual(await storedValues(topic), ['old-0', 'new-0']);

  const staleBump = await initProducerId(5, { producerId: producer.producerId, producerEpoch: 7 });
  assert.equal(staleBump.errorCode, ErrorCode.NONE);
  assert.notEqual(staleBump.producerId, producer.producerId, 'an epoch the node cannot vouch for gets a fresh id');
  assert.equal((await initProducerId(4, { producerId: 3, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST);
});

test('a transactional InitProducerId is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED', async () => {
  const response = await initProducerId(1, undefined, 'my-transactions');
  assert.equal(response.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  assert.equal(response.producerId, -1);
});

for (const how of ['kill', 'stop'] as const) {
  test(`deduplication and producer ids survive a ${how === 'kill' ? 'SIGKILL' : 'clean restart'}`, async () => {
    const topic = `idem-restart-${how}`;
    await createTopic(topic);
    const producer = await newProducer();
    const frames = [0, 1, 2].map((batch) => produceFrame(topic, producer, batch * 2, [`${batch}-a`, `${batch}-b`]));
    for (const frame of frames) assert.equal((await sendProduce(frame)).errorCode, ErrorCode.NONE);

    await restart(how);
    const snapshotPath = join(dataDir, `${topic}-0`, 'producer-state');
    // A clean stop writes the snapshot that the start restores; SIGKILL leaves none, so the start replays the log.
    if (how === 'stop') await access(snapshotPath);
    else await assert.rejects(access(snapshotPath), 'no snapshot after SIGKILL');

    for (const [batch, frame] of frames.entries()) {
      const again = await sendProduce(frame);
      assert.equal(again.errorCode, ErrorCode.NONE, `retry of batch ${batch}`);
      assert.equal(again.baseOffset, batch * 2, `retry of batch ${batch} gets its original offset`);
    }
    assert.equal((await sendProduce(produceFrame(topic, producer, 5, ['gap']))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'sequences are remembered');
    assert.equal((await sendProduce(produceFrame(topic, producer, 6, ['3-a']))).baseOffset, 6, 'the producer continues');
    assert.deepEqual(await storedValues(topic), ['0-a', '0-b', '1-a', '1-b', '2-a', '2-b', '3-a']);

    const later = await newProducer();
    assert.ok(later.producerId > producer.producerId, `producer id ${later.producerId} after the restart is new (before: ${producer.producerId})`);
  });
}

test('producer ids handed out before restarts are never handed out again', async () => {
  const seen = new Set<number>();
  for (let round = 0; round < 3; round++) {
    for (let index = 0; index < 5; index++) {
      const { producerId } = await newProducer(round + 1);
      assert.ok(!seen.has(producerId), `producer id ${producerId} is new`);
      seen.add(producerId);
    }
    await restart(round === 0 ? 'kill' : 'stop');
  }
  assert.equal(seen.size, 15);
});
