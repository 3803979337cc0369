// Proves the controller's AlterPartition rules: a change applies only from the current leader with
// its current broker epoch, leader epoch and partition epoch; every accepted request bumps the
// partition epoch (even with the ISR unchanged) and the change is in the replayed log; members added
// must be unfenced (INELIGIBLE_REPLICA); malformed ISRs are refused; a restarted broker's
// re-registration removes it from the ISR when other members remain. Changes that arrive together
// commit in one Raft entry (per 1,000), each checked as if the earlier ones were committed, and a
// heartbeat that changes nothing does not wait behind them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { createRequest, FakeQuorum, registration, threeBrokersOnePartition } from './fake-quorum.ts';

const setUp = threeBrokersOnePartition;

test('a new RF=3 partition starts with every replica in the ISR; one shrunk out joins again through AlterPartition', async () => {
  const { quorum, epochs, topicId, partition } = await setUp();
  const created = partition();
  assert.deepEqual(created.isr, created.replicas, 'every replica is empty, so every one is in sync');
  const leader = created.leader;
  const shrunk = await quorum.controller.alterPartition({
    brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: created.leaderEpoch, partitionEpoch: created.partitionEpoch, newIsr: [leader],
  });
  assert.equal(shrunk.errorCode, ErrorCode.NONE);
  const start = partition();
  assert.deepEqual(start.isr, [leader]);
  const result = await quorum.controller.alterPartition({
    brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: start.leaderEpoch, partitionEpoch: start.partitionEpoch, newIsr: [...start.replicas],
  });
  assert.equal(result.errorCode, ErrorCode.NONE);
  assert.deepEqual(result.isr, start.replicas);
  assert.equal(result.partitionEpoch, start.partitionEpoch + 1);
  assert.equal(result.leaderEpoch, start.leaderEpoch);
  assert.equal(result.offset, quorum.builder.appliedOffset);
  assert.deepEqual(partition().isr, start.replicas);
  assert.deepEqual(quorum.replay().image().topicsById.get(topicId)!.partitions[0], partition(), 'the change is in the log');

  // The same ISR again still bumps the partition epoch.
  const again = await quorum.controller.alterPartition({
    brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: start.leaderEpoch, partitionEpoch: result.partitionEpoch, newIsr: [...result.isr],
  });
  assert.equal(again.errorCode, ErrorCode.NONE);
  assert.equal(again.partitionEpoch, result.partitionEpoch + 1);
});

test('stale or wrong requests are refused and write nothing', async () => {
  const { quorum, epochs, topicId, partition } = await setUp();
  const start = partition();
  const leader = start.leader;
  const follower = start.replicas.find((id) => id !== leader)!;
  const base = { brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: start.leaderEpoch, partitionEpoch: start.partitionEpoch, newIsr: [...start.replicas] };
  const logLength = quorum.log.length;
  const cases: Array<[string, typeof base, number]> = [
    ['old partition epoch', { ...base, partitionEpoch: start.partitionEpoch - 1 }, ErrorCode.INVALID_UPDATE_VERSION],
    ['future partition epoch', { ...base, partitionEpoch: start.partitionEpoch + 1 }, ErrorCode.INVALID_UPDATE_VERSION],
    ['old leader epoch', { ...base, leaderEpoch: start.leaderEpoch - 1 }, ErrorCode.FENCED_LEADER_EPOCH],
    ['future leader epoch', { ...base, leaderEpoch: start.leaderEpoch + 1 }, ErrorCode.UNKNOWN_LEADER_EPOCH],
    ['not the leader', { ...base, brokerId: follower, brokerEpoch: epochs.get(follower)! }, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ['stale broker epoch', { ...base, brokerEpoch: epochs.get(leader)! - 1 }, ErrorCode.STALE_BROKER_EPOCH],
    ['unknown broker', { ...base, brokerId: 99 }, ErrorCode.BROKER_ID_NOT_REGISTERED],
    ['unknown topic', { ...base, topicId: 'f'.repeat(32) }, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ['unknown partition', { ...base, partition: 5 }, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ['ISR without the leader', { ...base, newIsr: [follower] }, ErrorCode.INVALID_REQUEST],
    ['ISR outside the replicas', { ...base, newIsr: [leader, 42] }, ErrorCode.INVALID_REQUEST],
    ['ISR with a repeat', { ...base, newIsr: [leader, leader] }, ErrorCode.INVALID_REQUEST],
    ['empty ISR', { ...base, newIsr: [] }, ErrorCode.INVALID_REQUEST],
  ];
  for (const [name, request, errorCode] of cases) {
    const result = await quorum.controller.alterPartition(request);
    assert.equal(result.errorCode, errorCode, name);
  }
  assert.equal(quorum.log.length, logLength, 'nothing refused reaches the log');
  assert.deepEqual(partition(), start);
});

test('a fenced broker cannot join the ISR (INELIGIBLE_REPLICA), but may be dropped from it', async () => {
  const { quorum, epochs, topicId, partition } = await setUp();
  const start = partition();
  const leader = start.leader;
  const [a, b] = start.replicas.filter((id) => id !== leader) as [number, number];
  const joined = await quorum.controller.alterPartition({ brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: 0, partitionEpoch: start.partitionEpoch, newIsr: [leader, a] });
  assert.equal(joined.errorCode, 0);
  await quorum.controller.heartbeat({ nodeId: b, brokerEpoch: epochs.get(b)!, metadataOffset: quorum.builder.appliedOffset, wantFence: true });
  assert.equal(quorum.image().brokers.get(b)!.fenced, true);
  const current = partition();
  const refused = await quorum.controller.alterPartition({ brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: current.leaderEpoch, partitionEpoch: current.partitionEpoch, newIsr: [leader, a, b] });
  assert.equal(refused.errorCode, ErrorCode.INELIGIBLE_REPLICA);
  const shrunk = await quorum.controller.alterPartition({ brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: current.leaderEpoch, partitionEpoch: current.partitionEpoch, newIsr: [leader] });
  assert.equal(shrunk.errorCode, 0);
  assert.deepEqual(partition().isr, [leader]);
});

test('re-registration of a restarted ISR member removes it from the ISR when others remain', async () => {
  const { quorum, epochs, topicId, partition } = await setUp();
  const start = partition();
  const leader = start.leader;
  await quorum.controller.alterPartition({ brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: 0, partitionEpoch: start.partitionEpoch, newIsr: [...start.replicas] });
  const follower = start.replicas.find((id) => id !== leader)!;
  const registered = await quorum.controller.registerBroker(registration(follower, null, 'second-life'));
  assert.equal(registered.errorCode, 0);
  assert.equal(quorum.image().brokers.get(follower)!.fenced, true);
  assert.equal(partition().isr.includes(follower), false);
  assert.equal(partition().leader, leader);
  // The leader restarts too: leadership moves within the ISR with a new leader epoch.
  const leaderAgain = await quorum.controller.registerBroker(registration(leader, null, 'leader-second-life'));
  assert.equal(leaderAgain.errorCode, 0);
  assert.notEqual(partition().leader, leader);
  assert.equal(partition().leaderEpoch, start.leaderEpoch + 1);
  // The old leader's request, based on its old epochs, is refused.
  const stale = await quorum.controller.alterPartition({ brokerId: leader, brokerEpoch: epochs.get(leader)!, topicId, partition: 0, leaderEpoch: 0, partitionEpoch: partition().partitionEpoch, newIsr: [leader] });
  assert.equal(stale.errorCode, ErrorCode.STALE_BROKER_EPOCH);
});

test('ISR changes that arrive together commit in one Raft entry each 1,000, checked as if one at a time', async () => {
  const quorum = new FakeQuorum({ limits: { defaultPartitions: 1, defaultReplicationFactor: 3, maxPartitionsPerTopic: 2000 } });
  await quorum.controller.ensureClusterId('cluster-a');
  const epochs = new Map<number, number>();
  for (let nodeId = 1; nodeId <= 3; nodeId++) epochs.set(nodeId, await quorum.addBroker(nodeId));
  const created = await quorum.controller.createTopic(createRequest('wide', 1200, 3), false);
  assert.equal(created.errorCode, ErrorCode.NONE);
  const partitions = () => quorum.image().topicsById.get(created.topicId!)!.partitions;
  const before = partitions();
  const request = (index: number) => {
    const start = before[index]!;
    return { brokerId: start.leader, brokerEpoch: epochs.get(start.leader)!, topicId: created.topicId!, partition: index, leaderEpoch: start.leaderEpoch, partitionEpoch: start.partitionEpoch, newIsr: [...start.replicas] };
  };
  const entriesBefore = quorum.log.length;
  // Every partition's leader asks at once, and partition 7's twice with the same partition epoch.
  const results = await Promise.all([...before.map((_, index) => quorum.controller.alterPartition(request(index))), quorum.controller.alterPartition(request(7))]);
  assert.equal(quorum.log.length - entriesBefore, 2, 'two Raft entries: 1,000 changes, then 200');
  results.slice(0, 1200).forEach((result, index) => {
    assert.equal(result.errorCode, ErrorCode.NONE, `partition ${index}`);
    assert.deepEqual(result.isr, before[index]!.replicas);
    assert.equal(result.partitionEpoch, before[index]!.partitionEpoch + 1);
  });
  assert.equal(results[1200]!.errorCode, ErrorCode.INVALID_UPDATE_VERSION, 'the repeat is checked against the first, as if it had been committed');
  assert.ok(partitions().every((partition) => partition.isr.length === 3));
  assert.deepEqual(quorum.replay().image().topicsById.get(created.topicId!)!.partitions, partitions(), 'the changes are in the log');
});

test('a heartbeat that changes nothing is answered while ISR changes wait for their commit', async () => {
  const { quorum, epochs, topicId, partition } = await setUp();
  const start = partition();
  let release!: () => void;
  quorum.proposeGate = new Promise<void>((resolve) => { release = resolve; });
  const altered = quorum.controller.alterPartition({
    brokerId: start.leader, brokerEpoch: epochs.get(start.leader)!, topicId, partition: 0, leaderEpoch: start.leaderEpoch, partitionEpoch: start.partitionEpoch, newIsr: [...start.replicas],
  });
  const follower = start.replicas.find((id) => id !== start.leader)!;
  const beat = await Promise.race([
    quorum.controller.heartbeat({ nodeId: follower, brokerEpoch: epochs.get(follower)!, metadataOffset: quorum.builder.appliedOffset, wantFence: false }),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000)),
  ]);
  assert.deepEqual(beat, { errorCode: ErrorCode.NONE, fenced: false, offset: quorum.builder.appliedOffset }, 'answered before the commit');
  release();
  assert.equal((await altered).errorCode, ErrorCode.NONE);
  // A heartbeat that must write (fence on request) still waits its turn and is applied.
  const fenced = await quorum.controller.heartbeat({ nodeId: follower, brokerEpoch: epochs.get(follower)!, metadataOffset: quorum.builder.appliedOffset, wantFence: true });
  assert.deepEqual([fenced.errorCode, fenced.fenced], [ErrorCode.NONE, true]);
});
