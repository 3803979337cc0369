// Proves a batch damaged on disk in an older segment (a bit flip in bytes the CRC covers) is never
// served: a Fetch that reaches it gets KAFKA_STORAGE_ERROR for that partition while the other
// partitions of the same request are still answered, and the node keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { corruptFile } from '../../src/chaos/disk-faults.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { fetchCodec, defaultFetchRequest, defaultFetchRequestFetchTopic, defaultFetchRequestFetchPartition } from '../../src/protocol/messages/fetch.ts';
import { metadataCodec, defaultMetadataRequest } from '../../src/protocol/messages/metadata.ts';
import { produceCodec, defaultProduceRequest } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { makeTempDir, removeDir, startTide, stopTide } from '../helpers/tide-process.ts';

test('a corrupt batch is refused with KAFKA_STORAGE_ERROR, other partitions still served', async () => {
  const dataDir = await makeTempDir();
  let node = await startTide({ dataDir, args: ['--num.partitions', '2', '--log.segment.bytes', '1100'] });
  let client = await RawClient.connect(node.kafkaPort);
  await client.send(metadataCodec, 9, { ...defaultMetadataRequest(), topics: [{ topicId: '0'.repeat(32), name: 'damaged' }], allowAutoTopicCreation: true });
  for (const index of [0, 1]) {
    for (let round = 0; round < 8; round++) {
      const records = buildRecordBatchSync({ records: [{ value: `p${index}-r${round}-${'x'.repeat(200)}` }] });
      const response = await client.send(produceCodec, 7, { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: 'damaged', partitionData: [{ index, records }] }] });
      assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    }
  }
  client.close();
  assert.equal((await stopTide(node)).code, 0);

  // Flip a bit in the value of the first batch of partition 0, in its first (inactive, already
  // rolled) segment, well inside the CRC-covered bytes: start-up recovery only rescans the tail.
  corruptFile(join(dataDir, 'damaged-0', '00000000000000000000.log'), 'bitflip', 61 + 20, 3);

  node = await startTide({ dataDir });
  client = await RawClient.connect(node.kafkaPort);
  try {
    const response = await client.send(fetchCodec, 11, {
      ...defaultFetchRequest(), replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionEpoch: -1,
      topics: [{
        ...defaultFetchRequestFetchTopic(), topic: 'damaged',
        partitions: [0, 1].map((partition) => ({ ...defaultFetchRequestFetchPartition(), partition, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 })),
      }],
    });
    const [damaged, healthy] = response.responses[0]!.partitions;
    assert.equal(damaged!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `the damaged batch is not served: ${JSON.stringify({ hw: damaged!.highWatermark, start: damaged!.logStartOffset, bytes: damaged!.records?.length })}`);
    assert.equal(damaged!.records?.length ?? 0, 0);
    assert.equal(healthy!.errorCode, ErrorCode.NONE);
    assert.ok((healthy!.records?.length ?? 0) > 0, 'the healthy partition is still served');
  } finally {
    client.close();
    await stopTide(node);
    await removeDir(dataDir);
  }
});
