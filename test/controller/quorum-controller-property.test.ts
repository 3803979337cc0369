// Proves, for random sequences of registrations (new and repeated incarnations), heartbeats (current,
// stale and future epochs, caught up or not, asking to be fenced), passing time, ticks, topic
// creation, growth and deletion and ISR widening (standing in for replication), that after every
// step: leader ∈ ISR ⊆ replicas, no fenced broker leads, a partition is leaderless only when no ISR
// member is live, leader and partition epochs never go back (and the leader epoch rises whenever
// the leader changes), broker epochs only rise, and replaying the log or restoring a snapshot
// gives the same image. fast-check prints the seed and the shrunk sequence of any failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MetadataImageBuilder, type ClusterMetadataImage } from '../../src/controller/metadata-image-builder.ts';
import { createRequest, FakeQuorum, registration } from './fake-quorum.ts';

type Step =
  | { kind: 'register'; nodeId: number; restart: boolean }
  | { kind: 'heartbeat'; nodeId: number; epochShift: -1 | 0 | 1; caughtUp: boolean; wantFence: boolean }
  | { kind: 'heartbeat-others'; except: number }
  | { kind: 'time'; ms: number }
  | { kind: 'silence'; nodeId: number }
  | { kind: 'tick' }
  | { kind: 'create'; partitions: number; replicationFactor: number }
  | { kind: 'grow'; topic: number; extra: number }
  | { kind: 'delete'; topic: number }
  | { kind: 'widen-isr'; topic: number; partition: number };

const nodeIds = fc.integer({ min: 1, max: 5 });
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('register' as const), nodeId: nodeIds, restart: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('heartbeat' as const), nodeId: nodeIds, epochShift: fc.constantFrom(-1 as const, 0 as const, 0 as const, 1 as const),
      caughtUp: fc.boolean(), wantFence: fc.boolean(),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('heartbeat-others' as const), except: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 7000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('silence' as const), nodeId: nodeIds }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), partitions: fc.integer({ min: 1, max: 4 }), replicationFactor: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grow' as const), topic: fc.nat(10), extra: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), topic: fc.nat(10) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('widen-isr' as const), topic: fc.nat(10), partition: fc.nat(10) }) },
);

// What the random runs reached, so a generator that stopped producing failovers would be noticed.
const coverage = { failovers: 0, leaderless: 0, reelected: 0 };

interface Known { epoch: number; incarnation: number }

async function run(steps: Step[]): Promise<void> {
  const quorum = new FakeQuorum({ sessionTimeoutMs: 6000, limits: { defaultPartitions: 1, defaultReplicationFactor: 1, maxPartitionsPerTopic: 50 } });
  const brokers = new Map<number, Known>();
  const seenPartitions = new Map<string, { leader: number; leaderEpoch: number; partitionEpoch: number }>();
  const seenBrokerEpochs = new Map<number, number>();
  let topicCount = 0;

  const topicByIndex = (index: number) => {
    const topics = [...quorum.image().topicsByName.values()];
    return topics.length === 0 ? undefined : topics[index % topics.length];
  };

  for (const [index, step] of steps.entries()) {
    const where = `step ${index} ${JSON.stringify(step)}`;
    switch (step.kind) {
      case 'register': {
        const known = brokers.get(step.nodeId);
        const incarnation = known === undefined ? 0 : step.restart ? known.incarnation + 1 : known.incarnation;
        const result = await quorum.controller.registerBroker(registration(step.nodeId, `rack${step.nodeId % 2}`, `inc-${step.nodeId}-${incarnation}`));
        assert.equal(result.errorCode, 0, where);
        if (known !== undefined && !step.restart) assert.equal(result.brokerEpoch, known.epoch, `${where}: a retry keeps the epoch`);
        if (known !== undefined && step.restart) assert.ok(result.brokerEpoch > known.epoch, `${where}: a restart gets a newer epoch`);
        brokers.set(step.nodeId, { epoch: result.brokerEpoch, incarnation });
        break;
      }
      case 'heartbeat': {
        const known = brokers.get(step.nodeId);
        if (known === undefined) break;
        const brokerEpoch = Math.max(0, known.epoch + step.epochShift);
        const metadataOffset = step.caughtUp ? quorum.builder.appliedOffset : 0;
        const result = await quorum.controller.heartbeat({ nodeId: step.nodeId, brokerEpoch, metadataOffset, wantFence: step.wantFence });
        if (brokerEpoch < known.epoch) assert.equal(result.errorCode, 77, `${where}: stale epoch refused`);
        if (brokerEpoch === known.epoch) {
          assert.equal(result.errorCode, 0, where);
          assert.equal(result.fenced, quorum.image().brokers.get(step.nodeId)!.fenced, where);
          if (step.wantFence) assert.equal(result.fenced, true, where);
        }
        break;
      }
      case 'heartbeat-others':
        // Every registered broker but `except` (0: none) heartbeats, caught up.
        for (const [nodeId, known] of brokers) {
          if (nodeId !== step.except) await quorum.controller.heartbeat({ nodeId, brokerEpoch: known.epoch, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
        }
        break;
      case 'silence':
        // One broker goes quiet for a whole session while the others keep heartbeating.
        for (let second = 0; second < 7; second++) {
          quorum.nowMs += 1000;
          for (const [nodeId, known] of brokers) {
            if (nodeId !== step.nodeId) await quorum.controller.heartbeat({ nodeId, brokerEpoch: known.epoch, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
          }
          await quorum.controller.tick();
          checkInvariants(quorum.image(), seenPartitions, seenBrokerEpochs, `${where} second ${second}`);
        }
        break;
      case 'time':
        quorum.nowMs += step.ms;
        break;
      case 'tick':
        await quorum.controller.tick();
        break;
      case 'create': {
        const result = await quorum.controller.createTopic(createRequest(`topic-${topicCount++}`, step.partitions, step.replicationFactor), false);
        const live = [...quorum.image().brokers.values()].filter((b) => !b.fenced).length;
        assert.equal(result.errorCode, step.replicationFactor <= live ? 0 : 38, where);
        break;
      }
      case 'grow': {
        const topic = topicByIndex(step.topic);
        if (topic !== undefined) await quorum.controller.createPartitions(topic.name, topic.partitions.length + step.extra, false);
        break;
      }
      case 'delete': {
        const topic = topicByIndex(step.topic);
        if (topic !== undefined) assert.equal((await quorum.controller.deleteTopic(topic.name)).errorCode, 0, where);
        break;
      }
      case 'widen-isr': {
        // What an AlterPartition from a leader would commit once followers caught up: live replicas join the ISR.
        const topic = topicByIndex(step.topic);
        const partition = topic?.partitions[step.partition % topic.partitions.length];
        if (topic === undefined || partition === undefined || partition.leader === -1) break;
        const image = quorum.image();
        const isr = partition.replicas.filter((id) => id === partition.leader || image.brokers.get(id)?.fenced === false);
        quorum.append([{ type: 'partition', topicId: topic.topicId, partition: partition.partition, replicas: partition.replicas, isr, leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch + 1 }]);
        break;
      }
    }
    checkInvariants(quorum.image(), seenPartitions, seenBrokerEpochs, where);
  }
  assert.deepEqual(quorum.replay().image(), quorum.image(), 'replay equals the live image');
  assert.deepEqual(MetadataImageBuilder.fromSnapshot(quorum.builder.snapshot()).image(), quorum.image(), 'snapshot equals the live image');
  assert.equal(quorum.builder.skippedRecords, 0, 'the controller never writes a record the image skips');
}

function checkInvariants(
  image: ClusterMetadataImage,
  seenPartitions: Map<string, { leader: number; leaderEpoch: number; partitionEpoch: number }>,
  seenBrokerEpochs: Map<number, number>,
  where: string,
): void {
  for (const broker of image.brokers.values()) {
    const previous = seenBrokerEpochs.get(broker.nodeId) ?? -1;
    assert.ok(broker.brokerEpoch >= previous, `${where}: broker ${broker.nodeId} epoch went back`);
    seenBrokerEpochs.set(broker.nodeId, broker.brokerEpoch);
  }
  const live = (id: number) => image.brokers.get(id)?.fenced === false;
  for (const topic of image.topicsById.values()) {
    topic.partitions.forEach((partition, index) => {
      const name = `${where}: ${topic.name}-${index} ${JSON.stringify(partition)}`;
      assert.equal(partition.partition, index, name);
      assert.ok(partition.isr.length > 0, `${name}: ISR empty`);
      assert.ok(partition.isr.every((id) => partition.replicas.includes(id)), `${name}: ISR ⊆ replicas`);
      if (partition.leader !== -1) {
        assert.ok(partition.isr.includes(partition.leader), `${name}: leader ∈ ISR`);
        assert.ok(live(partition.leader), `${name}: fenced leader`);
      } else {
        assert.ok(!partition.isr.some(live), `${name}: leaderless although an ISR member is live`);
      }
      const key = `${topic.topicId}/${index}`;
      const previous = seenPartitions.get(key);
      if (previous !== undefined) {
        if (partition.leader !== previous.leader) {
          if (partition.leader === -1) coverage.leaderless++;
          else if (previous.leader === -1) coverage.reelected++;
          else coverage.failovers++;
        }
        assert.ok(partition.leaderEpoch >= previous.leaderEpoch, `${name}: leader epoch went back`);
        assert.ok(partition.partitionEpoch >= previous.partitionEpoch, `${name}: partition epoch went back`);
        if (partition.leader !== previous.leader) assert.ok(partition.leaderEpoch > previous.leaderEpoch, `${name}: leader changed without a new leader epoch`);
      }
      seenPartitions.set(key, { leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch });
    });
  }
}

test('controller invariants hold for random sequences', async () => {
  await fc.assert(fc.asyncProperty(fc.array(stepArbitrary, { minLength: 1, maxLength: 80, size: 'max' }), run), { numRuns: 500 });
  assert.ok(coverage.failovers > 0 && coverage.leaderless > 0 && coverage.reelected > 0, `runs reached failovers, leaderless partitions and re-elections: ${JSON.stringify(coverage)}`);
});
