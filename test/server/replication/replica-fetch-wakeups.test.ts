// Proves what wakes a follower's long-polling Fetch on the leader, on a real partition log: new
// bytes becoming readable (once per append), and a leadership change; not the leader's fsync and
// not a high-watermark move, which wake consumers only (each would make the follower's fetch read
// nothing and wait again: three reads per produced batch instead of one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordBatchSync } from '../../../src/protocol/records.ts';
import { withTempDir } from '../../storage/helpers.ts';
import { waitUntil, openReplicatedPartition } from './replica-test-helpers.ts';

test('a follower\'s parked fetch wakes when bytes become readable and when leadership moves, not on fsyncs or high-watermark moves', async () => {
  await withTempDir(async (dir) => {
    const { log, partition, replica } = await openReplicatedPartition(dir, { replicas: 1, replicaLagTimeMaxMs: 10_000, minInsyncReplicas: 1 });
    let replicaWakes = 0;
    let consumerWakes = 0;
    const parkFollower = () => partition.onNewReplicaData(() => replicaWakes++);
    const parkConsumer = () => partition.onNewData(() => consumerWakes++);
    try {
      replica.onMetadata({ leader: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1, 2] });
      const caughtUp = await replica.onReplicaFetch({ replicaId: 2, fetchOffset: 0, currentLeaderEpoch: 1, lastFetchedEpoch: -1 }, 1024 * 1024);
      assert.equal(caughtUp.records.length, 0, 'nothing to send yet: the follower parks');
      parkFollower();
      parkConsumer();

      // acks=all waits for follower 2, which is in the ISR.
      const produced = replica.produce(buildRecordBatchSync({ timestamp: 1_700_000_000_000, records: [{ value: 'one' }] }), -1, 10_000);
      await waitUntil(() => log.flushedOffset === 1, 'the leader append to be fsynced');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(replicaWakes, 1, 'the follower was woken once, for the readable bytes (not again for the fsync)');
      assert.equal(consumerWakes, 0, 'no consumer woken: the high watermark has not moved');

      const fetched = await replica.onReplicaFetch({ replicaId: 2, fetchOffset: 0, currentLeaderEpoch: 1, lastFetchedEpoch: -1 }, 1024 * 1024);
      assert.ok(fetched.records.length > 0, 'the woken fetch reads the batch');
      parkFollower();
      // The follower's next fetch reports it has offset 0: the ISR has it, the HW moves to 1.
      const reported = await replica.onReplicaFetch({ replicaId: 2, fetchOffset: 1, currentLeaderEpoch: 1, lastFetchedEpoch: 1 }, 1024 * 1024);
      assert.equal(reported.records.length, 0);
      assert.equal((await produced).errorCode, 0, 'acks=all answered once the follower has the batch');
      assert.equal(partition.highWatermark, 1);
      assert.equal(consumerWakes, 1, 'the high-watermark move woke the consumer');
      assert.equal(replicaWakes, 1, 'but not the parked follower');

      // Leadership moves to node 2: the follower still polling here must hear it now.
      partition.leaderEpoch = 2;
      replica.onMetadata({ leader: 2, leaderEpoch: 2, partitionEpoch: 2, replicas: [1, 2], isr: [1, 2] });
      assert.equal(replicaWakes, 2, 'a leadership change wakes the parked follower');
    } finally {
      replica.close();
      await partition.close();
    }
  });
});
