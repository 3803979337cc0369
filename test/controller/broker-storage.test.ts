// Proves how the controller treats a broker whose storage is full (its disk guard refuses appends
// and it says so in its heartbeats): the state is a metadata record (`broker-storage`) that replays,
// survives snapshots (an old snapshot or log without it means not full) and is reset by a new
// registration; the partitions a full broker leads move, in the same entry as its report, to the
// first live ISR member with room, and stay when there is none (a partition that serves reads beats
// an offline one) until a member with room joins the ISR; fencing, preferred leader balancing and
// ElectLeaders never pick a full broker while a live ISR member with room can lead; room again
// moves nothing at once, preferred leader balancing brings the leadership back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { MetadataImageBuilder } from '../../src/controller/metadata-image-builder.ts';
import { decodeRecords, MalformedMetadataRecordError } from '../../src/controller/metadata-records.ts';
import type { ControllerDeps } from '../../src/controller/quorum-controller.ts';
import { electPartition, electOnDemand } from '../../src/controller/partition-election.ts';
import type { PartitionMetadata } from '../../src/controller/metadata-image.ts';
import type { Logger } from '../../src/util/log.ts';
import { registration, threeBrokersOnePartition } from './fake-quorum.ts';

interface Line { level: 'info' | 'warn'; message: string; fields?: Record<string, unknown> }

function capturingLogger(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger: Logger = {
    debug() {},
    info(message, fields) { lines.push({ level: 'info', message, fields }); },
    warn(message, fields) { lines.push({ level: 'warn', message, fields }); },
    error() {},
    child() { return logger; },
  };
  return { logger, lines };
}

/** The shared three-broker setup (the new partition's ISR holds all three), or with the ISR shrunk to its leader. */
async function setUp(deps: Partial<ControllerDeps> = {}, fullIsr = true) {
  const setup = await threeBrokersOnePartition(deps);
  const { quorum, epochs, topicId, partition } = setup;
  const start = partition();
  assert.deepEqual(start.isr, start.replicas);
  if (!fullIsr) {
    const shrunk = await quorum.controller.alterPartition({
      brokerId: start.leader, brokerEpoch: epochs.get(start.leader)!, topicId, partition: 0,
      leaderEpoch: start.leaderEpoch, partitionEpoch: start.partitionEpoch, newIsr: [start.leader],
    });
    assert.equal(shrunk.errorCode, ErrorCode.NONE);
  }
  const beat = (nodeId: number, storageFull: boolean | undefined, wantFence = false) => quorum.controller.heartbeat({
    nodeId, brokerEpoch: epochs.get(nodeId)!, metadataOffset: quorum.builder.appliedOffset, wantFence, ...(storageFull === undefined ? {} : { storageFull }),
  });
  const lastEntry = () => decodeRecords(quorum.log[quorum.log.length - 1]!);
  return { ...setup, beat, lastEntry };
}

test('a leader reporting full storage loses its leaderships to an ISR member with room, in the same entry', async () => {
  const { logger, lines } = capturingLogger();
  const { quorum, partition, beat, lastEntry } = await setUp({ logger });
  const before = partition();
  const [full, next] = before.replicas as [number, number, number];
  assert.equal(before.leader, full);

  const entries = quorum.log.length;
  const answer = await beat(full, true);
  assert.deepEqual([answer.errorCode, answer.fenced], [ErrorCode.NONE, false]);
  assert.equal(quorum.log.length, entries + 1, 'one entry');
  assert.deepEqual(lastEntry().map((record) => record.type), ['broker-storage', 'partition']);
  const after = partition();
  assert.equal(after.leader, next, 'the next replica in order, which has room');
  assert.equal(after.leaderEpoch, before.leaderEpoch + 1);
  assert.deepEqual(after.isr, before.isr, 'the full broker stays in the ISR (it still replicates)');
  assert.equal(quorum.image().brokers.get(full)!.storageFull, true);
  assert.deepEqual(quorum.replay().image(), quorum.image(), 'the log replays to the same image');

  const moved = lines.find((line) => line.message.startsWith('broker storage full: leaderships moved'));
  assert.ok(moved, 'the move is logged');
  assert.equal(moved.level, 'info');
  assert.deepEqual(moved.fields?.['moves'], [`events-0: ${full} -> ${next}`]);
  assert.match(String(moved.fields?.['reason']), /full storage/);

  await beat(full, true);
  assert.equal(quorum.log.length, entries + 1, 'the same state again writes nothing');
});

test('with no ISR member with room the full leader keeps leading, until one joins the ISR', async () => {
  const { logger, lines } = capturingLogger();
  const { quorum, epochs, topicId, partition, beat, lastEntry } = await setUp({ logger }, false);
  const before = partition();
  const full = before.leader;
  assert.deepEqual(before.isr, [full]);
  await beat(full, true);
  assert.deepEqual(lastEntry().map((record) => record.type), ['broker-storage'], 'only the state is recorded');
  assert.deepEqual(partition(), before, 'it keeps leading: better than an offline partition');
  assert.ok(lines.some((line) => line.level === 'warn' && /keeps leading/.test(line.message)));

  // Its followers catch up and join the ISR: the next controller tick moves the leadership.
  const grown = await quorum.controller.alterPartition({
    brokerId: full, brokerEpoch: epochs.get(full)!, topicId, partition: 0, leaderEpoch: before.leaderEpoch, partitionEpoch: before.partitionEpoch, newIsr: [...before.replicas],
  });
  assert.equal(grown.errorCode, ErrorCode.NONE);
  assert.equal(partition().leader, full, 'AlterPartition itself changes no leader');
  await quorum.controller.tick();
  assert.equal(partition().leader, before.replicas[1]);
  assert.equal(partition().leaderEpoch, before.leaderEpoch + 1);
  const moved = lines.find((line) => line.message === 'leaders moved off brokers with full storage');
  assert.deepEqual(moved?.fields?.['moves'], [`events-0: ${full} -> ${before.replicas[1]}`]);
  await quorum.controller.tick();
  assert.equal(partition().leaderEpoch, before.leaderEpoch + 1, 'nothing more to move');
});

test('every ISR member full: the leader stays; a full leader skips full members for one with room', async () => {
  const { partition, beat } = await setUp();
  const [a, b, c] = partition().replicas as [number, number, number];
  await beat(b, true);
  assert.equal(partition().leader, a, 'a full follower changes nothing');
  await beat(a, true);
  assert.equal(partition().leader, c, 'b is full too: c, the only member with room');
  await beat(c, true);
  assert.equal(partition().leader, c, 'everyone full: the leader stays');
});

test('fencing does not elect a full broker while an ISR member with room can lead', async () => {
  const { partition, beat } = await setUp();
  const [a, b, c] = partition().replicas as [number, number, number];
  await beat(b, true);
  await beat(a, false, true); // controlled shutdown of the leader
  assert.equal(partition().leader, c, 'b is next in replica order but full');
  await beat(c, false, true);
  assert.deepEqual([partition().leader, partition().isr], [b, [b]], 'only the full broker is left: it leads rather than none');
});

test('preferred leader balancing and ElectLeaders wait until the full broker has room; room moves nothing at once', async () => {
  const { quorum, partition, beat, lastEntry } = await setUp({ leaderBalance: { enabled: true, checkIntervalMs: 10_000, imbalancePercentage: 0 } });
  const [preferred, next] = partition().replicas as [number, number, number];
  await beat(preferred, true);
  assert.equal(partition().leader, next);
  assert.equal(await quorum.controller.balanceLeaders(), 0, 'arms the clock');
  quorum.nowMs += 10_000;
  assert.equal(await quorum.controller.balanceLeaders(), 0, 'the preferred replica is full');
  const asked = await quorum.controller.electLeaders('preferred', [{ topic: 'events', partitions: [0] }]);
  assert.equal(asked.topics[0]!.partitions[0]!.errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  assert.match(asked.topics[0]!.partitions[0]!.errorMessage ?? '', /full storage/);
  assert.equal(partition().leader, next);

  await beat(preferred, false);
  assert.deepEqual(lastEntry().map((record) => record.type), ['broker-storage'], 'room again: only the state');
  assert.equal(partition().leader, next, 'nothing moves at once');
  quorum.nowMs += 10_000;
  assert.equal(await quorum.controller.balanceLeaders(), 1, 'the next balance check brings it back');
  assert.equal(partition().leader, preferred);
});

test('pure rules: elections prefer members with room, a full preferred replica is not available', () => {
  const p: PartitionMetadata = { partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 4, partitionEpoch: 9 };
  const allLive = () => true;
  const full = (...ids: number[]) => (id: number) => ids.includes(id);
  assert.equal(electPartition(p, allLive), null);
  assert.equal(electPartition(p, allLive, false, full(1))?.leader, 2);
  assert.equal(electPartition(p, allLive, false, full(1, 2))?.leader, 3);
  assert.equal(electPartition(p, allLive, false, full(1, 2, 3)), null, 'all full: no change');
  assert.equal(electPartition(p, allLive, false, full(2)), null, 'a full follower: no change');
  const leaderless = { ...p, leader: -1 };
  assert.equal(electPartition(leaderless, allLive, false, full(1, 2))?.leader, 3);
  assert.equal(electPartition(leaderless, allLive, false, full(1, 2, 3))?.leader, 1, 'all full: replica order');
  const unclean = { ...p, isr: [1], leader: -1 };
  assert.equal(electPartition(unclean, (id) => id !== 1, true, full(2))?.leader, 3, 'unclean: a live replica with room first');
  const moved = { ...p, leader: 2 };
  assert.equal(electOnDemand(moved, 'preferred', allLive, full(1)).errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  assert.equal(electOnDemand(moved, 'preferred', allLive).errorCode, ErrorCode.NONE);
  assert.equal(electOnDemand({ ...moved, isr: [1] , leader: 1 }, 'preferred', allLive, full(1)).errorCode, ErrorCode.ELECTION_NOT_NEEDED);
});

test('the storage state round-trips through snapshots; without it a broker is not full; a new registration resets it', async () => {
  const { quorum, partition, beat } = await setUp();
  const full = partition().leader;
  await beat(full, true);
  const snapshot = quorum.builder.snapshot();
  const restored = MetadataImageBuilder.fromSnapshot(snapshot);
  assert.deepEqual(restored.image(), quorum.image());
  assert.equal(restored.image().brokers.get(full)!.storageFull, true);
  assert.deepEqual(restored.snapshot(), snapshot);

  // A snapshot written before the field existed: every broker has room.
  const body = JSON.parse(new TextDecoder().decode(snapshot)) as { brokers: Array<Record<string, unknown>> };
  for (const broker of body.brokers) delete broker['storageFull'];
  const old = MetadataImageBuilder.fromSnapshot(new TextEncoder().encode(JSON.stringify(body)));
  assert.deepEqual([...old.image().brokers.values()].map((broker) => broker.storageFull), [false, false, false]);
  assert.deepEqual(old.image().topicsById, quorum.image().topicsById);
  body.brokers[0]!['storageFull'] = 'yes';
  assert.throws(() => MetadataImageBuilder.fromSnapshot(new TextEncoder().encode(JSON.stringify(body))), MalformedMetadataRecordError);

  // A record for an older registration is skipped; a new registration starts with room.
  const builder = MetadataImageBuilder.fromSnapshot(snapshot);
  const epoch = builder.image().brokers.get(full)!.brokerEpoch;
  builder.apply([{ type: 'broker-storage', nodeId: full, brokerEpoch: epoch - 1, full: false }], builder.appliedOffset + 1);
  assert.equal(builder.image().brokers.get(full)!.storageFull, true);
  assert.equal(builder.skippedRecords, 1);
  const registered = await quorum.controller.registerBroker(registration(full, null, 'a-new-incarnation'));
  assert.equal(registered.errorCode, ErrorCode.NONE);
  assert.equal(quorum.image().brokers.get(full)!.storageFull, false);
});

test('a heartbeat without the field (an older broker) means room; an unfencing heartbeat records full storage with it', async () => {
  const { quorum, epochs, partition, beat, lastEntry } = await setUp();
  const [a, b] = partition().replicas as [number, number, number];
  await beat(a, true);
  assert.equal(quorum.image().brokers.get(a)!.storageFull, true);
  await beat(a, undefined);
  assert.equal(quorum.image().brokers.get(a)!.storageFull, false);

  // b restarts with a full disk: its registration fences it; its first heartbeat that unfences it also records the state.
  const registered = await quorum.controller.registerBroker(registration(b, null, 'b-restarted'));
  epochs.set(b, registered.brokerEpoch);
  assert.equal(quorum.image().brokers.get(b)!.fenced, true);
  const answer = await beat(b, true);
  assert.equal(answer.fenced, false);
  assert.deepEqual(lastEntry().map((record) => record.type).slice(0, 2), ['unfence-broker', 'broker-storage']);
  assert.equal(quorum.image().brokers.get(b)!.storageFull, true);
});

test('a new partition whose first replica is full starts led by a live replica with room (preferred replica unchanged)', async () => {
  const { quorum, partition, beat } = await setUp();
  const [a, b, c] = partition().replicas as [number, number, number];
  await beat(a, true);
  const created = await quorum.controller.createTopic({ name: 'fresh', numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, brokerIds: [a, b, c] }], configs: {} }, false);
  assert.equal(created.errorCode, ErrorCode.NONE);
  const fresh = quorum.image().topicsByName.get('fresh')!.partitions[0]!;
  assert.deepEqual([fresh.replicas, fresh.leader, fresh.isr], [[a, b, c], b, [b, c]], 'the full replica starts outside the ISR');
  const other = await quorum.controller.createTopic({ name: 'roomy', numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, brokerIds: [c, a, b] }], configs: {} }, false);
  assert.equal(other.errorCode, ErrorCode.NONE);
  const roomy = quorum.image().topicsByName.get('roomy')!.partitions[0]!;
  assert.deepEqual([roomy.leader, roomy.isr], [c, [c, b]], 'a first replica with room leads as always');
});
