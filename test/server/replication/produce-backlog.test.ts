// Proves acks=all flow control on a real replicated partition log: once the bytes above the HW
// reach replica.backlog.max.bytes, further acks=all requests wait before they are appended (the
// log end does not move), are appended in arrival order as a follower's fetch moves the HW, time
// out with REQUEST_TIMED_OUT having written nothing, and fail with NOT_LEADER_OR_FOLLOWER, having
// written nothing, when the leadership moves; acks=1 requests are never held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordBatchSync } from '../../../src/protocol/records.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { withTempDir } from '../../storage/helpers.ts';
import { openReplicatedPartition, waitUntil } from './replica-test-helpers.ts';

function batch(value: string): Buffer {
  return buildRecordBatchSync({ timestamp: 1_700_000_000_000, records: [{ value: value.padEnd(100, '.') }] });
}

const batchBytes = batch('x').length;

test('acks=all requests beyond the backlog limit wait unwritten, then append in order as the follower catches up', async () => {
  await withTempDir(async (dir) => {
    const { log, partition, replica } = await openReplicatedPartition(dir, { replicas: 2, replicaLagTimeMaxMs: 60_000, minInsyncReplicas: 2, replicaBacklogMaxBytes: 2 * batchBytes });
    try {
      replica.onMetadata({ leader: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1, 2] });
      const first = replica.produce(batch('a'), -1, 10_000);
      const second = replica.produce(batch('b'), -1, 10_000);
      const third = replica.produce(batch('c'), -1, 10_000);
      const fourth = replica.produce(batch('d'), -1, 10_000);
      await waitUntil(() => log.flushedOffset === 2, 'the first two to be written');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(log.logEndOffset, 2, 'the third and fourth wait unwritten: two batches fill the backlog');
      const acksOne = await replica.produce(batch('e'), 1, 10_000);
      assert.equal(acksOne.errorCode, ErrorCode.NONE, 'acks=1 is not held');
      assert.equal(acksOne.appended?.baseOffset, 2);

      // The follower has everything up to 3: the HW moves there and frees the backlog for two more.
      await replica.onReplicaFetch({ replicaId: 2, fetchOffset: 3, currentLeaderEpoch: 1, lastFetchedEpoch: 1 }, 1 << 20);
      assert.equal((await first).errorCode, ErrorCode.NONE);
      assert.equal((await second).errorCode, ErrorCode.NONE);
      await waitUntil(() => log.logEndOffset === 5, 'the held requests to be appended');
      await replica.onReplicaFetch({ replicaId: 2, fetchOffset: 5, currentLeaderEpoch: 1, lastFetchedEpoch: 1 }, 1 << 20);
      const [thirdAnswer, fourthAnswer] = [await third, await fourth];
      assert.equal(thirdAnswer.errorCode, ErrorCode.NONE);
      assert.equal(fourthAnswer.errorCode, ErrorCode.NONE);
      assert.deepEqual([thirdAnswer.appended?.baseOffset, fourthAnswer.appended?.baseOffset], [3, 4], 'held requests keep their arrival order');
    } finally {
      replica.close();
      await partition.close();
    }
  });
});

test('a held request times out or loses the leadership without writing anything', async () => {
  await withTempDir(async (dir) => {
    const { log, partition, replica } = await openReplicatedPartition(dir, { replicas: 2, replicaLagTimeMaxMs: 60_000, minInsyncReplicas: 2, replicaBacklogMaxBytes: batchBytes });
    try {
      replica.onMetadata({ leader: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1, 2] });
      const filling = replica.produce(batch('a'), -1, 10_000);
      const expiring = replica.produce(batch('b'), -1, 30);
      const moving = replica.produce(batch('c'), -1, 10_000);
      await waitUntil(() => log.flushedOffset === 1, 'the first to be written');
      await new Promise((resolve) => setTimeout(resolve, 50));
      replica.tick();
      assert.equal((await expiring).errorCode, ErrorCode.REQUEST_TIMED_OUT);
      assert.equal(log.logEndOffset, 1, 'the expired request wrote nothing');

      partition.leaderEpoch = 2;
      replica.onMetadata({ leader: 2, leaderEpoch: 2, partitionEpoch: 2, replicas: [1, 2], isr: [2, 1] });
      assert.equal((await moving).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.equal((await filling).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.equal(log.logEndOffset, 1, 'the held request wrote nothing');
    } finally {
      replica.close();
      await partition.close();
    }
  });
});
