// Proves the quorum controller's logic against a fake committed log: topic create/delete/partitions/
// configs with Kafka's error codes; registration hands out increasing broker epochs, a retry of the
// same incarnation keeps its epoch and a new incarnation gets a new one that fences the old;
// heartbeats with a stale epoch get STALE_BROKER_EPOCH (77); brokers are unfenced once caught up;
// session expiry fences and moves leaderships to ISR members only, bumping leader and partition
// epochs, and leaves partitions without a live ISR member leaderless until a member returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { MetadataImageBuilder } from '../../src/controller/metadata-image-builder.ts';
import { QuorumController } from '../../src/controller/quorum-controller.ts';
import { createRequest, FakeQuorum, registration } from './fake-quorum.ts';

async function clusterOf(count: number, sessionTimeoutMs = 6000): Promise<{ quorum: FakeQuorum; epochs: Map<number, number> }> {
  const quorum = new FakeQuorum({ sessionTimeoutMs, limits: { defaultPartitions: 3, defaultReplicationFactor: 1, maxPartitionsPerTopic: 100 } });
  await quorum.controller.ensureClusterId('cluster-x');
  const epochs = new Map<number, number>();
  for (let nodeId = 1; nodeId <= count; nodeId++) epochs.set(nodeId, await quorum.addBroker(nodeId));
  return { quorum, epochs };
}

function partitionsOf(quorum: FakeQuorum, name: string) {
  return quorum.image().topicsByName.get(name)!.partitions;
}

test('cluster id is written once', async () => {
  const quorum = new FakeQuorum();
  assert.equal((await quorum.controller.ensureClusterId('first')).clusterId, 'first');
  assert.equal((await quorum.controller.ensureClusterId('second')).clusterId, 'first');
  assert.equal(quorum.log.length, 1);
});

test('create, configure, grow and delete a topic', async () => {
  const { quorum } = await clusterOf(3);
  const created = await quorum.controller.createTopic(createRequest('orders', 6, 3, { 'retention.ms': '60000' }), false);
  assert.equal(created.errorCode, 0);
  assert.match(created.topicId!, /^[0-9a-f]{32}$/);
  assert.equal(created.offset, quorum.builder.appliedOffset);
  const topic = quorum.image().topicsByName.get('orders')!;
  assert.equal(topic.topicId, created.topicId);
  assert.deepEqual(topic.configs, { 'retention.ms': '60000' });
  for (const partition of topic.partitions) {
    assert.equal(new Set(partition.replicas).size, 3);
    assert.equal(partition.leader, partition.replicas[0]);
    assert.deepEqual(partition.isr, partition.replicas, 'every replica of a new partition is empty, so in sync');
    assert.equal(partition.leaderEpoch, 0);
  }

  assert.equal((await quorum.controller.createTopic(createRequest('orders', 1, 1), false)).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.equal((await quorum.controller.createTopic(createRequest('bad/name', 1, 1), false)).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.equal((await quorum.controller.createTopic(createRequest('big', 1, 4), false)).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal((await quorum.controller.createTopic(createRequest('many', 101, 1), false)).errorCode, ErrorCode.INVALID_PARTITIONS);
  assert.equal((await quorum.controller.createTopic(createRequest('cfg', 1, 1, { 'cleanup.policy': 'nope' }), false)).errorCode, ErrorCode.INVALID_CONFIG);

  const logLength = quorum.log.length;
  const dryRun = await quorum.controller.createTopic(createRequest('dry', 2, 2), true);
  assert.deepEqual([dryRun.errorCode, dryRun.topicId], [0, null]);
  assert.equal(quorum.log.length, logLength, 'validateOnly writes nothing');
  assert.equal(quorum.image().topicsByName.has('dry'), false);

  const altered = await quorum.controller.alterTopicConfigs('orders', [{ key: 'cleanup.policy', op: 'set', value: 'compact' }, { key: 'retention.ms', op: 'delete', value: null }], false);
  assert.equal(altered.errorCode, 0);
  assert.deepEqual(quorum.image().topicsByName.get('orders')!.configs, { 'cleanup.policy': 'compact' });
  assert.equal((await quorum.controller.alterTopicConfigs('orders', [{ key: 'segment.bytes', op: 'set', value: 'x' }], false)).errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal((await quorum.controller.alterTopicConfigs('missing', [], false)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

  assert.equal((await quorum.controller.createPartitions('orders', 9, true)).errorCode, 0);
  assert.equal(partitionsOf(quorum, 'orders').length, 6);
  assert.equal((await quorum.controller.createPartitions('orders', 9, false)).errorCode, 0);
  const grown = partitionsOf(quorum, 'orders');
  assert.deepEqual(grown.map((p) => p.partition), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  for (const partition of grown.slice(6)) {
    assert.equal(partition.replicas.length, 3);
    assert.deepEqual(partition.isr, partition.replicas);
  }
  assert.equal((await quorum.controller.createPartitions('orders', 9, false)).errorCode, ErrorCode.INVALID_PARTITIONS);
  assert.equal((await quorum.controller.createPartitions('orders', 101, false)).errorCode, ErrorCode.INVALID_PARTITIONS);
  assert.equal((await quorum.controller.createPartitions('missing', 2, false)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

  assert.equal((await quorum.controller.deleteTopic('orders')).errorCode, 0);
  assert.equal(quorum.image().topicsByName.has('orders'), false);
  assert.equal((await quorum.controller.deleteTopic('orders')).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // The log replays to the same image on any node.
  assert.deepEqual(quorum.replay().image(), quorum.image());
});

test('fenced brokers get no new replicas', async () => {
  const { quorum, epochs } = await clusterOf(3);
  await quorum.controller.heartbeat({ nodeId: 3, brokerEpoch: epochs.get(3)!, metadataOffset: quorum.builder.appliedOffset, wantFence: true });
  assert.equal((await quorum.controller.createTopic(createRequest('t', 4, 3), false)).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal((await quorum.controller.createTopic(createRequest('t', 4, 2), false)).errorCode, 0);
  for (const partition of partitionsOf(quorum, 't')) assert.equal(partition.replicas.includes(3), false);
});

test('registration: increasing epochs, idempotent retry, new incarnation fences the old one', async () => {
  const { quorum, epochs } = await clusterOf(3);
  assert.deepEqual([...epochs.values()], [0, 1, 2]);
  for (const broker of quorum.image().brokers.values()) assert.equal(broker.fenced, false);

  const retry = await quorum.controller.registerBroker(registration(2));
  assert.equal(retry.errorCode, 0);
  assert.equal(retry.brokerEpoch, 1, 'same incarnation keeps its epoch');

  await quorum.controller.createTopic(createRequest('t', 3, 1, {}), false);
  const ledBy2 = partitionsOf(quorum, 't').filter((p) => p.leader === 2).map((p) => p.partition);
  assert.equal(ledBy2.length, 1);

  const restarted = await quorum.controller.registerBroker(registration(2, null, 'incarnation-2-again'));
  assert.equal(restarted.errorCode, 0);
  assert.equal(restarted.brokerEpoch, 3);
  const broker2 = quorum.image().brokers.get(2)!;
  assert.equal(broker2.fenced, true, 'a new incarnation starts fenced');
  assert.equal(broker2.brokerEpoch, 3);
  for (const index of ledBy2) {
    const partition = partitionsOf(quorum, 't')[index]!;
    assert.equal(partition.leader, -1, 'the old incarnation leads nothing; its ISR had no other member');
    assert.equal(partition.leaderEpoch, 1);
  }

  const old = await quorum.controller.heartbeat({ nodeId: 2, brokerEpoch: 1, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
  assert.equal(old.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  assert.equal(old.errorCode, 77);

  const caughtUp = await quorum.controller.heartbeat({ nodeId: 2, brokerEpoch: 3, metadataOffset: restarted.offset, wantFence: false });
  assert.deepEqual([caughtUp.errorCode, caughtUp.fenced], [0, false]);
  for (const index of ledBy2) {
    const partition = partitionsOf(quorum, 't')[index]!;
    assert.equal(partition.leader, 2, 'back in charge of the partitions only it holds in sync');
    assert.equal(partition.leaderEpoch, 2);
  }
});

test('heartbeats: unknown broker, epoch from the future, unfencing waits for catch-up, wantFence', async () => {
  const quorum = new FakeQuorum();
  const unknown = await quorum.controller.heartbeat({ nodeId: 9, brokerEpoch: 0, metadataOffset: 0, wantFence: false });
  assert.equal(unknown.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);

  const registered = await quorum.controller.registerBroker(registration(1));
  const behind = await quorum.controller.heartbeat({ nodeId: 1, brokerEpoch: registered.brokerEpoch, metadataOffset: registered.offset - 1, wantFence: false });
  assert.deepEqual([behind.errorCode, behind.fenced], [0, true], 'not unfenced before it replayed its own registration');
  const wantsFence = await quorum.controller.heartbeat({ nodeId: 1, brokerEpoch: registered.brokerEpoch, metadataOffset: registered.offset, wantFence: true });
  assert.deepEqual([wantsFence.errorCode, wantsFence.fenced], [0, true]);
  const future = await quorum.controller.heartbeat({ nodeId: 1, brokerEpoch: registered.brokerEpoch + 1, metadataOffset: registered.offset, wantFence: false });
  assert.equal(future.errorCode, ErrorCode.NOT_CONTROLLER, 'an epoch newer than the image means this controller lags: retriable');
  const unfenced = await quorum.controller.heartbeat({ nodeId: 1, brokerEpoch: registered.brokerEpoch, metadataOffset: registered.offset, wantFence: false });
  assert.deepEqual([unfenced.errorCode, unfenced.fenced], [0, false]);
  assert.equal(unfenced.offset, quorum.builder.appliedOffset);
  const steady = await quorum.controller.heartbeat({ nodeId: 1, brokerEpoch: registered.brokerEpoch, metadataOffset: unfenced.offset, wantFence: false });
  assert.deepEqual([steady.errorCode, steady.fenced], [0, false]);
  const logLength = quorum.log.length;
  await quorum.controller.heartbeat({ nodeId: 1, brokerEpoch: registered.brokerEpoch, metadataOffset: unfenced.offset, wantFence: false });
  assert.equal(quorum.log.length, logLength, 'a plain heartbeat writes nothing');
  const fenced = await quorum.controller.heartbeat({ nodeId: 1, brokerEpoch: registered.brokerEpoch, metadataOffset: unfenced.offset, wantFence: true });
  assert.deepEqual([fenced.errorCode, fenced.fenced], [0, true]);
  assert.equal(quorum.image().brokers.get(1)!.fenced, true);
});

test('invalid registrations are refused', async () => {
  const quorum = new FakeQuorum();
  for (const bad of [{ ...registration(1), nodeId: -1 }, { ...registration(1), incarnationId: '' }, { ...registration(1), port: 70000 }, { ...registration(1), host: '' }]) {
    assert.equal((await quorum.controller.registerBroker(bad)).errorCode, ErrorCode.INVALID_REGISTRATION);
  }
  assert.equal(quorum.log.length, 0);
});

test('session expiry fences and moves leaderships within the ISR only', async () => {
  const { quorum, epochs } = await clusterOf(3, 6000);
  await quorum.controller.createTopic(createRequest('t', 6, 3), false);
  const topicId = quorum.image().topicsByName.get('t')!.topicId;
  // ISRs as replication may leave them: partition 0 full, partition 1 one follower short, the rest shrunk to the leader.
  quorum.append(partitionsOf(quorum, 't').map((p) => {
    const isr = p.partition === 0 ? [...p.replicas] : p.partition === 1 ? [p.leader, p.replicas[2]!] : [p.leader];
    return { type: 'partition' as const, topicId, partition: p.partition, replicas: p.replicas, isr, leader: p.leader, leaderEpoch: 0, partitionEpoch: 1 };
  }));
  const before = partitionsOf(quorum, 't');
  const victim = before[0]!.leader;

  // Everyone but the victim keeps heartbeating.
  for (let step = 0; step < 7; step++) {
    quorum.nowMs += 1000;
    for (const [nodeId, brokerEpoch] of epochs) {
      if (nodeId !== victim) await quorum.controller.heartbeat({ nodeId, brokerEpoch, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
    }
    await quorum.controller.tick();
    if (step < 5) assert.equal(quorum.image().brokers.get(victim)!.fenced, false, `not fenced after ${step + 1}s`);
  }
  assert.equal(quorum.image().brokers.get(victim)!.fenced, true);
  for (const [nodeId] of epochs) if (nodeId !== victim) assert.equal(quorum.image().brokers.get(nodeId)!.fenced, false);

  const after = partitionsOf(quorum, 't');
  for (let index = 0; index < after.length; index++) {
    const was = before[index]!;
    const now = after[index]!;
    assert.notEqual(now.leader, victim, 'a fenced broker leads nothing');
    if (was.leader !== victim) {
      if (was.isr.includes(victim)) {
        assert.deepEqual(now.isr, was.isr.filter((id) => id !== victim));
        assert.equal(now.leaderEpoch, was.leaderEpoch, 'an ISR shrink keeps the leader epoch');
        assert.equal(now.partitionEpoch, was.partitionEpoch + 1);
      } else {
        assert.deepEqual(now, was, 'untouched');
      }
      continue;
    }
    assert.equal(now.leaderEpoch, was.leaderEpoch + 1);
    assert.equal(now.partitionEpoch, was.partitionEpoch + 1);
    const liveIsr = was.isr.filter((id) => id !== victim);
    if (liveIsr.length === 0) {
      assert.equal(now.leader, -1, 'no ISR member left: leaderless, never a replica without the data');
      assert.deepEqual(now.isr, was.isr);
    } else {
      assert.ok(liveIsr.includes(now.leader), `new leader ${now.leader} comes from the ISR ${was.isr}`);
      assert.deepEqual(now.isr, liveIsr);
    }
  }
  assert.ok(after.some((p, i) => before[i]!.leader === victim && p.leader !== -1), 'the widened partition failed over');
  assert.ok(after.some((p) => p.leader === -1), 'single-ISR partitions of the victim became leaderless');

  // The victim comes back (same process): unfenced and leads its leaderless partitions again.
  const back = await quorum.controller.heartbeat({ nodeId: victim, brokerEpoch: epochs.get(victim)!, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
  assert.deepEqual([back.errorCode, back.fenced], [0, false]);
  for (const partition of partitionsOf(quorum, 't')) assert.notEqual(partition.leader, -1);
  assert.deepEqual(quorum.replay().image(), quorum.image());
});

test('a new controller gives every broker a full session before fencing', async () => {
  const { quorum } = await clusterOf(2, 6000);
  quorum.nowMs += 60_000; // no heartbeats for a long time, e.g. while no controller was elected
  const successor = new QuorumController({
    image: () => quorum.builder.image(), propose: async (records) => quorum.append(records), nowMs: () => quorum.nowMs,
    newTopicId: () => 'f'.repeat(32), limits: { defaultPartitions: 1, defaultReplicationFactor: 1, maxPartitionsPerTopic: 10 }, sessionTimeoutMs: 6000,
  });
  successor.onBecomeLeader();
  quorum.nowMs += 6000;
  await successor.tick();
  for (const broker of quorum.image().brokers.values()) assert.equal(broker.fenced, false);
  quorum.nowMs += 1;
  await successor.tick();
  for (const broker of quorum.image().brokers.values()) assert.equal(broker.fenced, true);
});

test('producer id blocks never overlap', async () => {
  const quorum = new FakeQuorum();
  const first = await quorum.controller.allocateProducerIds(1, 1000);
  const second = await quorum.controller.allocateProducerIds(2, 10);
  assert.deepEqual([first.errorCode, first.firstId, first.size], [0, 0, 1000]);
  assert.deepEqual([second.errorCode, second.firstId, second.size], [0, 1000, 10]);
  assert.equal((await quorum.controller.allocateProducerIds(1, 0)).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(quorum.image().nextProducerId, 1010);
  // Concurrent requests are serialised, so they still get disjoint blocks.
  const concurrent = await Promise.all([1, 2, 3].map((nodeId) => quorum.controller.allocateProducerIds(nodeId, 100)));
  assert.deepEqual(concurrent.map((block) => block.firstId), [1010, 1110, 1210]);
  assert.deepEqual(MetadataImageBuilder.fromSnapshot(quorum.builder.snapshot()).image().nextProducerId, 1310);
});

test('concurrent registrations get distinct epochs', async () => {
  const quorum = new FakeQuorum();
  const results = await Promise.all([1, 2, 3, 4].map((nodeId) => quorum.controller.registerBroker(registration(nodeId))));
  assert.deepEqual(results.map((r) => r.brokerEpoch), [0, 1, 2, 3]);
});

test('a failed proposal is reported to its caller and does not block later requests', async () => {
  const builder = new MetadataImageBuilder();
  let failNext = true;
  let offset = 0;
  const controller = new QuorumController({
    image: () => builder.image(),
    propose: async (records) => {
      if (failNext) {
        failNext = false;
        throw new Error('not the leader');
      }
      builder.apply(records, ++offset);
      return offset;
    },
    nowMs: () => 0, newTopicId: () => '1'.repeat(32), limits: { defaultPartitions: 1, defaultReplicationFactor: 1, maxPartitionsPerTopic: 10 }, sessionTimeoutMs: 1000,
  });
  await assert.rejects(controller.registerBroker(registration(1)), /not the leader/);
  assert.equal((await controller.registerBroker(registration(1))).brokerEpoch, 0);
});

test('the controller refuses an image that is not a replayed one', async () => {
  const controller = new QuorumController({
    image: () => ({ clusterId: 'c', controllerId: 1, brokers: new Map(), topicsByName: new Map(), topicsById: new Map() }),
    propose: async () => 1, nowMs: () => 0, newTopicId: () => '1'.repeat(32),
    limits: { defaultPartitions: 1, defaultReplicationFactor: 1, maxPartitionsPerTopic: 10 }, sessionTimeoutMs: 1000,
  });
  await assert.rejects(controller.tick(), /MetadataImageBuilder/);
});
