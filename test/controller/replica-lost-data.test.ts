// Proves the controller's ReplicaLostData rules: the reporting replica leaves the ISR (the change
// is in the replayed log); if it led, the next live ISR member in replica order leads with a new
// leader epoch; if it was the last ISR member the ISR becomes empty and the partition has no
// leader (offline rather than led by a replica that lost acknowledged data), and it stays so when
// the reporter is later unfenced; a reporter outside the ISR changes nothing; stale broker epochs
// are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { removeReplicaWithLostData } from '../../src/controller/replica-data-loss.ts';
import { validateRecord } from '../../src/controller/metadata-records.ts';
import { threeBrokersOnePartition } from './fake-quorum.ts';

async function setUp() {
  const { quorum, epochs, topicId, partition } = await threeBrokersOnePartition();
  const start = partition();
  const full = await quorum.controller.alterPartition({
    brokerId: start.leader, brokerEpoch: epochs.get(start.leader)!, topicId, partition: 0, leaderEpoch: start.leaderEpoch, partitionEpoch: start.partitionEpoch, newIsr: [...start.replicas],
  });
  assert.equal(full.errorCode, ErrorCode.NONE);
  return { quorum, epochs, topicId, partition };
}

test('a leader that lost data leaves the ISR and the next ISR member leads; a follower only leaves', async () => {
  const { quorum, epochs, topicId, partition } = await setUp();
  const before = partition();
  const leader = before.leader;
  const result = await quorum.controller.replicaLostData({ brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0 });
  assert.equal(result.errorCode, ErrorCode.NONE);
  const after = partition();
  assert.deepEqual(after.isr, before.isr.filter((id) => id !== leader));
  assert.equal(after.leader, before.replicas.find((id) => id !== leader));
  assert.equal(after.leaderEpoch, before.leaderEpoch + 1);
  assert.equal(after.partitionEpoch, before.partitionEpoch + 1);
  assert.deepEqual(result.isr, after.isr);
  assert.deepEqual(quorum.replay().image().topicsById.get(topicId)!.partitions[0], after, 'the change is in the log');

  const follower = after.isr.find((id) => id !== after.leader)!;
  await quorum.controller.replicaLostData({ brokerId: follower, brokerEpoch: epochs.get(follower)!, topicId, partition: 0 });
  assert.deepEqual(partition().isr, [after.leader]);
  assert.equal(partition().leaderEpoch, after.leaderEpoch, 'the leader stays');

  const logLength = quorum.log.length;
  const repeat = await quorum.controller.replicaLostData({ brokerId: follower, brokerEpoch: epochs.get(follower)!, topicId, partition: 0 });
  assert.equal(repeat.errorCode, ErrorCode.NONE);
  assert.equal(quorum.log.length, logLength, 'a reporter outside the ISR changes nothing');
  const stale = await quorum.controller.replicaLostData({ brokerId: after.leader, brokerEpoch: epochs.get(after.leader)! - 1, topicId, partition: 0 });
  assert.equal(stale.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.deepEqual(partition().isr, [after.leader]);
});

test('the last ISR member losing data leaves the partition offline with an empty ISR', async () => {
  const { quorum, epochs, topicId, partition } = await setUp();
  const leader = partition().leader;
  for (const id of partition().replicas.filter((replica) => replica !== leader)) {
    await quorum.controller.replicaLostData({ brokerId: id, brokerEpoch: epochs.get(id)!, topicId, partition: 0 });
  }
  assert.deepEqual(partition().isr, [leader]);
  await quorum.controller.replicaLostData({ brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0 });
  assert.deepEqual(partition().isr, []);
  assert.equal(partition().leader, -1);
  assert.deepEqual(quorum.replay().image().topicsById.get(topicId)!.partitions[0], partition(), 'an empty ISR replays');
  // Heartbeats (unfencing included) elect nobody: there is no ISR member to elect.
  for (const [nodeId, brokerEpoch] of epochs) await quorum.controller.heartbeat({ nodeId, brokerEpoch, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
  assert.equal(partition().leader, -1);
});

test('pure rule and record check: empty ISR only without a leader; dead ISR members are not elected', () => {
  const partition = { partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 4, partitionEpoch: 9 };
  assert.deepEqual(removeReplicaWithLostData(partition, 1, (id) => id === 3), { ...partition, isr: [2, 3], leader: 3, leaderEpoch: 5, partitionEpoch: 10 });
  assert.deepEqual(removeReplicaWithLostData(partition, 1, () => false), { ...partition, isr: [2, 3], leader: -1, leaderEpoch: 5, partitionEpoch: 10 });
  assert.equal(removeReplicaWithLostData({ ...partition, isr: [1] }, 2, () => true), null);
  const record = { type: 'partition', topicId: 'a'.repeat(32), partition: 0, replicas: [1, 2], isr: [] as number[], leader: -1, leaderEpoch: 1, partitionEpoch: 1 };
  assert.doesNotThrow(() => validateRecord(record));
  assert.throws(() => validateRecord({ ...record, leader: 1 }));
});
