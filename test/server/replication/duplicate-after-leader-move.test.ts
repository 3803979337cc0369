// Proves a producer's retry answered as a duplicate is acknowledged only while this node still
// leads in the epoch that holds the original. A 30-minute fault run (seed 20261210) found the
// retry of a batch, waiting on an isolated old leader for its original to commit, acknowledged
// after the leadership moved: the node had become a follower, cut the original away, fetched other
// records at those offsets from the new leader, and its high watermark (now the new leader's)
// passed them — the producer was told "stored at 24122" for offsets that held other records.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordBatchSync } from '../../../src/protocol/records.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { withTempDir } from '../../storage/helpers.ts';
import { waitUntil, firstFollowerFetch, openReplicatedPartition } from './replica-test-helpers.ts';

const PARTITION_LEADER_EPOCH_POSITION = 12;

function producerBatch(producerId: number, value: string): Buffer {
  return buildRecordBatchSync({ producerId, producerEpoch: 0, baseSequence: 0, timestamp: 1_700_000_000_000, records: [{ value }] });
}

/** A batch as a leader of `leaderEpoch` stores and serves it (offset 0). */
function servedBatch(producerId: number, value: string, leaderEpoch: number): Buffer {
  const bytes = Buffer.from(producerBatch(producerId, value));
  bytes.writeInt32BE(leaderEpoch, PARTITION_LEADER_EPOCH_POSITION); // outside the CRC-covered part
  return bytes;
}

test('a duplicate retry waiting on a leader that loses its leadership is not acknowledged, even once its HW passes the offsets', async () => {
  await withTempDir(async (dir) => {
    const { log, partition, replica } = await openReplicatedPartition(dir, { replicas: 2, replicaLagTimeMaxMs: 60_000, minInsyncReplicas: 2 });
    try {
      replica.onMetadata({ leader: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1, 2] });
      // The original: written here, never fetched by follower 2 (isolated), so never committed.
      const original = replica.produce(producerBatch(7, 'mine'), -1, 10_000);
      await waitUntil(() => log.flushedOffset === 1, 'the original to be written here');
      // The producer's retry of it: a duplicate, waiting for the original to commit. Its wait wakes
      // on new data or on a 100 ms timer; the timer is held still here, so the only wake-up is the
      // HW move below (in the fault run the move and the refetch fell between two timer rounds).
      mock.timers.enable({ apis: ['setTimeout'] });
      const retry = replica.produce(producerBatch(7, 'mine'), -1, 10_000);
      await new Promise((resolve) => setImmediate(resolve));

      // Leadership moves to node 2, which never had the original and stored another batch at offset 0.
      partition.leaderEpoch = 2;
      replica.onMetadata({ leader: 2, leaderEpoch: 2, partitionEpoch: 2, replicas: [1, 2], isr: [2, 1] });
      const request = await firstFollowerFetch(replica, 1, 0);
      assert.equal(log.logEndOffset, 0, 'the original was cut away');
      await replica.onFetchAnswer(request, {
        errorCode: 0, highWatermark: 1, logStartOffset: 0, logEndOffset: 1, readFromOffset: 0, readToOffset: 1,
      }, servedBatch(9, 'theirs', 2));
      assert.equal(partition.highWatermark, 1, 'the follower HW passed the original\'s offsets');

      mock.timers.reset();
      assert.equal((await original).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const answer = await retry;
      assert.equal(answer.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'the retry is not acknowledged: offset 0 holds another producer\'s record');
    } finally {
      mock.timers.reset();
      replica.close();
      await partition.close();
    }
  });
});
