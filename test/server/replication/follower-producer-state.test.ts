// Proves a follower records the producer state of replicated batches in the same step as they
// enter its log, not after their fsync: leadership can move to this replica while a replicated
// batch is still being fsynced, and a producer's retry of that batch must then be answered as a
// duplicate with the original offsets, not appended a second time. (A 30-minute fault run with
// slow and failing fsyncs found exactly that: one idempotent batch stored twice after a leader move.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordBatchSync } from '../../../src/protocol/records.ts';
import { withTempDir } from '../../storage/helpers.ts';
import { firstFollowerFetch, openReplicatedPartition } from './replica-test-helpers.ts';

const PARTITION_LEADER_EPOCH_POSITION = 12;

function clientBatch(): Buffer {
  return buildRecordBatchSync({
    producerId: 7, producerEpoch: 0, baseSequence: 0, timestamp: 1_700_000_000_000,
    records: [{ value: 'only-once' }],
  });
}

/** The batch as the old leader stored and serves it: offset 0, stamped with its leader epoch. */
function replicatedBatch(leaderEpoch: number): Buffer {
  const bytes = Buffer.from(clientBatch());
  bytes.writeInt32BE(leaderEpoch, PARTITION_LEADER_EPOCH_POSITION); // outside the CRC-covered part
  return bytes;
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

test('a retry reaching a new leader while it still fsyncs the replicated original is a duplicate', async () => {
  await withTempDir(async (dir) => {
    // Every segment fsync waits until the test opens the gate: the replicated append stays in flight.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => { openGate = resolve; });
    const onFsync = (path: string): Promise<void> | undefined => (path.endsWith('.log') ? gate : undefined);
    const { log, partition, replica } = await openReplicatedPartition(dir, { replicas: 2, replicaLagTimeMaxMs: 10_000, minInsyncReplicas: 1, onFsync });
    try {
      replica.onMetadata({ leader: 2, leaderEpoch: 1, partitionEpoch: 1, replicas: [2, 1], isr: [2, 1] });
      const request = await firstFollowerFetch(replica, 1, 0);
      const applying = replica.onFetchAnswer(request, {
        errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: -1, readFromOffset: 0, readToOffset: 0,
      }, replicatedBatch(1));
      await waitUntil(() => log.readableEndOffset === 1, 'the replicated batch to be written');
      assert.equal(log.flushedOffset, 0, 'its fsync is still held');

      // The leader moves here now; the producer retries the batch it never got an answer for.
      partition.leaderEpoch = 2;
      replica.onMetadata({ leader: 1, leaderEpoch: 2, partitionEpoch: 2, replicas: [2, 1], isr: [1] });
      const retry = replica.produce(clientBatch(), 1, 5000);
      openGate();
      const answer = await retry;
      await applying;

      assert.equal(answer.errorCode, 0);
      assert.equal(answer.appended?.duplicate, true, 'the retry is recognised as the replicated batch');
      assert.equal(answer.appended?.baseOffset, 0);
      assert.equal(log.logEndOffset, 1, 'stored once');
    } finally {
      openGate();
      replica.close();
      await partition.close();
    }
  });
});
