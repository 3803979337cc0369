// Proves the OffsetForLeaderEpoch handler on a real node: versions 2-4 are advertised; the current
// leader epoch (partitionLeaderEpoch of the stored batches) ends at the log end; an epoch the log
// cannot place answers -1/-1; a newer current leader epoch than the leader's is UNKNOWN_LEADER_EPOCH;
// unknown topics get UNKNOWN_TOPIC_OR_PARTITION.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { apiVersionsCodec } from '../../../src/protocol/messages/api-versions.ts';
import { defaultMetadataRequest, metadataCodec } from '../../../src/protocol/messages/metadata.ts';
import { offsetForLeaderEpochCodec } from '../../../src/protocol/messages/offset-for-leader-epoch.ts';
import { defaultProduceRequest, produceCodec } from '../../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../../src/protocol/records.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { makeTempDir, removeDir, startTide, stopTide, type TideProcess } from '../../helpers/tide-process.ts';

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

function query(topic: string, currentLeaderEpoch: number, leaderEpoch: number, version = 4) {
  return client.send(offsetForLeaderEpochCodec, version, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] });
}

test('advertised 2-4 and answers by epoch', async () => {
  const versions = await client.send(apiVersionsCodec, 3, { clientSoftwareName: 'tide-test', clientSoftwareVersion: '1' });
  const range = versions.apiKeys.find((key) => key.apiKey === 23);
  assert.deepEqual([range?.minVersion, range?.maxVersion], [2, 4]);

  const metadata = await client.send(metadataCodec, 9, { ...defaultMetadataRequest(), topics: [{ topicId: '0'.repeat(32), name: 'epochs' }], allowAutoTopicCreation: true });
  assert.equal(metadata.topics[0]!.errorCode, ErrorCode.NONE);
  const epoch = metadata.topics[0]!.partitions[0]!.leaderEpoch;

  const before = await query('epochs', epoch, epoch);
  assert.deepEqual(before.topics[0]!.partitions[0], { errorCode: 0, partition: 0, leaderEpoch: epoch, endOffset: 0 });

  for (let index = 0; index < 3; index++) {
    const records = buildRecordBatchSync({ records: [{ value: `v${index}` }] });
    const produced = await client.send(produceCodec, 9, { ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'epochs', partitionData: [{ index: 0, records }] }] });
    assert.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
  }
  for (const version of [2, 3, 4]) {
    const answer = await query('epochs', version === 2 ? -1 : epoch, epoch, version);
    assert.deepEqual(answer.topics[0]!.partitions[0], { errorCode: 0, partition: 0, leaderEpoch: epoch, endOffset: 3 }, `v${version}`);
  }
  assert.equal((await query('epochs', epoch + 1, epoch)).topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  assert.deepEqual((await query('epochs', epoch, epoch + 5)).topics[0]!.partitions[0], { errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1 });
  assert.equal((await query('no-such-topic', -1, 0)).topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});
