// Proves the controller's election rules beyond failover, against the pure functions and a fake
// committed log: preferred leader elections (on demand and by leader balancing with Kafka's
// per-broker imbalance percentage, only once the check interval has passed on the injected clock,
// never to a replica outside the ISR or fenced); ElectLeaders with Kafka's per-partition errors
// (ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE,
// UNKNOWN_TOPIC_OR_PARTITION; a null topic list answers only partitions that needed an election);
// unclean election only when the topic or the broker default allows it (on fencing, on unfencing,
// on turning the config on), each one warned about and counted; without it the partition stays
// leaderless until an ISR member returns. Every election bumps the leader epoch. The electLeaders
// controller RPC refuses malformed fields before the controller sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { MetadataImageBuilder } from '../../src/controller/metadata-image-builder.ts';
import type { PartitionMetadata } from '../../src/controller/metadata-image.ts';
import { leaderImbalance, preferredLeaderMoves } from '../../src/controller/leader-balance.ts';
import { electOnDemand, electPartition, isUncleanElection } from '../../src/controller/partition-election.ts';
import type { ControllerDeps } from '../../src/controller/quorum-controller.ts';
import { serveControllerRequest } from '../../src/cluster/controller-rpc.ts';
import { silentLogger, type Logger } from '../../src/util/log.ts';
import { FakeQuorum } from './fake-quorum.ts';

const topicIdOf = (n: number) => n.toString(16).padStart(32, '0');

function partition(replicas: number[], isr: number[], leader: number, leaderEpoch = 3): PartitionMetadata {
  return { partition: 0, replicas, isr, leader, leaderEpoch, partitionEpoch: 7 };
}

const liveSet = (...ids: number[]) => (id: number) => ids.includes(id);

test('fencing election: ISR only, unless unclean election is allowed', () => {
  const p = partition([1, 2, 3], [1], 1);
  const clean = electPartition(p, liveSet(2, 3));
  assert.deepEqual(clean, { partition: 0, replicas: [1, 2, 3], isr: [1], leader: -1, leaderEpoch: 4, partitionEpoch: 8 }, 'offline, ISR kept for the member that returns');
  const unclean = electPartition(p, liveSet(2, 3), true);
  assert.deepEqual(unclean, { partition: 0, replicas: [1, 2, 3], isr: [2], leader: 2, leaderEpoch: 4, partitionEpoch: 8 }, 'first live replica, ISR = [it]');
  assert.equal(isUncleanElection(p, unclean!), true);
  assert.equal(isUncleanElection(p, clean!), false);
  // A live ISR member always wins over an unclean choice.
  const withIsr = electPartition(partition([1, 2, 3], [1, 3], 1), liveSet(2, 3), true)!;
  assert.deepEqual([withIsr.leader, withIsr.isr], [3, [3]]);
  assert.equal(isUncleanElection(partition([1, 2, 3], [1, 3], 1), withIsr), false);
  // Nothing live: offline whatever the setting.
  assert.equal(electPartition(p, liveSet(), true)!.leader, -1);
  // Leaderless, the old ISR member comes back: it leads again (clean).
  const back = electPartition(partition([1, 2, 3], [1], -1), liveSet(1, 2), true)!;
  assert.deepEqual([back.leader, back.isr, back.leaderEpoch], [1, [1], 4]);
  // A healthy partition does not change.
  assert.equal(electPartition(partition([1, 2, 3], [1, 2, 3], 2), liveSet(1, 2, 3), true), null);
});

test('elections on demand follow Kafka: preferred and unclean', () => {
  const live = liveSet(1, 2, 3);
  const notNeeded = electOnDemand(partition([1, 2, 3], [1, 2, 3], 1), 'preferred', live);
  assert.equal(notNeeded.errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  assert.equal(electOnDemand(partition([1, 2, 3], [2, 3], 2), 'preferred', live).errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'preferred outside the ISR');
  assert.equal(electOnDemand(partition([1, 2, 3], [1, 2, 3], 2), 'preferred', liveSet(2, 3)).errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'preferred fenced');
  const moved = electOnDemand(partition([1, 2, 3], [2, 3, 1], 2), 'preferred', live);
  assert.equal(moved.errorCode, ErrorCode.NONE);
  assert.deepEqual(moved.next, { partition: 0, replicas: [1, 2, 3], isr: [2, 3, 1], leader: 1, leaderEpoch: 4, partitionEpoch: 8 });

  assert.equal(electOnDemand(partition([1, 2, 3], [2], 2), 'unclean', live).errorCode, ErrorCode.ELECTION_NOT_NEEDED, 'has a leader');
  const cleanFirst = electOnDemand(partition([1, 2, 3], [3], -1), 'unclean', live);
  assert.deepEqual([cleanFirst.next?.leader, cleanFirst.next?.isr], [3, [3]], 'a live ISR member first');
  const unclean = electOnDemand(partition([1, 2, 3], [1], -1), 'unclean', liveSet(2, 3));
  assert.deepEqual([unclean.next?.leader, unclean.next?.isr, unclean.next?.leaderEpoch], [2, [2], 4]);
  assert.equal(electOnDemand(partition([1, 2, 3], [1], -1), 'unclean', liveSet()).errorCode, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
});

function imageWith(partitions: Array<{ replicas: number[]; isr: number[]; leader: number }>, fenced: number[] = []) {
  const builder = new MetadataImageBuilder();
  let offset = 1;
  for (const nodeId of [1, 2, 3]) {
    builder.apply([{ type: 'register-broker', nodeId, incarnationId: `i${nodeId}`, brokerEpoch: nodeId, host: 'h', port: 1, rack: null, internalHost: 'h', internalPort: 2 }], offset++);
    if (!fenced.includes(nodeId)) builder.apply([{ type: 'unfence-broker', nodeId, brokerEpoch: nodeId }], offset++);
  }
  builder.apply([{ type: 'topic', name: 't', topicId: topicIdOf(1), configs: {}, internal: false }], offset++);
  builder.apply(partitions.map((p, index) => ({ type: 'partition' as const, topicId: topicIdOf(1), partition: index, ...p, leaderEpoch: 0, partitionEpoch: 0 })), offset++);
  return builder.image();
}

test('leader balancing: only brokers above leader.imbalance.per.broker.percentage, only to live ISR members', () => {
  // Broker 1 prefers 10 partitions and leads 9 of them: 10 % imbalance.
  const tenPercent = Array.from({ length: 10 }, (_, index) => ({ replicas: [1, 2, 3], isr: [1, 2, 3], leader: index === 0 ? 2 : 1 }));
  const image = imageWith(tenPercent);
  const isLive = (id: number) => image.brokers.get(id)?.fenced === false;
  assert.deepEqual(leaderImbalance(image).get(1), { preferred: 10, notLed: 1 });
  assert.deepEqual(preferredLeaderMoves(image, isLive, 10), [], '10 % is not above 10 %');
  const moves = preferredLeaderMoves(image, isLive, 9);
  assert.deepEqual(moves.map((move) => [move.next.partition, move.before.leader, move.next.leader, move.next.leaderEpoch]), [[0, 2, 1, 1]]);
  assert.equal(preferredLeaderMoves(image, isLive, 0).length, 1, '0 %: any imbalance');

  // Preferred replica outside the ISR or fenced: nothing moves, whatever the imbalance.
  const outOfIsr = imageWith([{ replicas: [1, 2, 3], isr: [2, 3], leader: 2 }]);
  assert.deepEqual(preferredLeaderMoves(outOfIsr, (id) => outOfIsr.brokers.get(id)?.fenced === false, 0), []);
  const fenced = imageWith([{ replicas: [1, 2, 3], isr: [1, 2, 3], leader: 2 }], [1]);
  assert.deepEqual(preferredLeaderMoves(fenced, (id) => fenced.brokers.get(id)?.fenced === false, 0), []);
});

interface Captured { logger: Logger; warnings: Array<{ message: string; fields?: Record<string, unknown> }> }

function capturingLogger(): Captured {
  const warnings: Captured['warnings'] = [];
  const logger: Logger = { debug() {}, info() {}, warn(message, fields) { warnings.push({ message, fields }); }, error() {}, child() { return logger; } };
  return { logger, warnings };
}

async function quorumWith(deps: Partial<ControllerDeps>): Promise<{ quorum: FakeQuorum; epochs: Map<number, number> }> {
  const quorum = new FakeQuorum({ deps, limits: { defaultPartitions: 1, defaultReplicationFactor: 1, maxPartitionsPerTopic: 100 } });
  await quorum.controller.ensureClusterId('c');
  const epochs = new Map<number, number>();
  for (const nodeId of [1, 2, 3]) epochs.set(nodeId, await quorum.addBroker(nodeId));
  return { quorum, epochs };
}

async function topic(quorum: FakeQuorum, name: string, assignments: number[][], configs: Record<string, string> = {}): Promise<string> {
  const created = await quorum.controller.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments: assignments.map((brokerIds, partition) => ({ partition, brokerIds })), configs }, false);
  assert.equal(created.errorCode, ErrorCode.NONE, created.errorMessage ?? '');
  return created.topicId!;
}

/** Writes a partition's ISR as replication would have (the leader's AlterPartition), keeping leader and epochs. */
function setIsr(quorum: FakeQuorum, name: string, index: number, isr: number[]): void {
  const t = quorum.image().topicsByName.get(name)!;
  const p = t.partitions[index]!;
  quorum.append([{ type: 'partition', topicId: t.topicId, ...p, isr, partitionEpoch: p.partitionEpoch + 1 }]);
}

const stateOf = (quorum: FakeQuorum, name: string, index = 0) => quorum.image().topicsByName.get(name)!.partitions[index]!;

async function fence(quorum: FakeQuorum, epochs: Map<number, number>, nodeId: number): Promise<void> {
  await quorum.controller.heartbeat({ nodeId, brokerEpoch: epochs.get(nodeId)!, metadataOffset: quorum.builder.appliedOffset, wantFence: true });
  assert.equal(quorum.image().brokers.get(nodeId)!.fenced, true);
}

async function unfence(quorum: FakeQuorum, epochs: Map<number, number>, nodeId: number): Promise<void> {
  await quorum.controller.heartbeat({ nodeId, brokerEpoch: epochs.get(nodeId)!, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
  assert.equal(quorum.image().brokers.get(nodeId)!.fenced, false);
}

test('leadership returns to the preferred replica once it is back in the ISR and the check interval has passed', async () => {
  const { quorum, epochs } = await quorumWith({ leaderBalance: { enabled: true, checkIntervalMs: 10_000, imbalancePercentage: 10 } });
  await topic(quorum, 'orders', [[1, 2, 3]]);
  setIsr(quorum, 'orders', 0, [1, 2, 3]);
  assert.equal(await quorum.controller.balanceLeaders(), 0, 'the first call arms the clock');
  await fence(quorum, epochs, 1);
  assert.deepEqual([stateOf(quorum, 'orders').leader, stateOf(quorum, 'orders').isr, stateOf(quorum, 'orders').leaderEpoch], [2, [2, 3], 1]);
  await unfence(quorum, epochs, 1);
  quorum.nowMs += 10_000;
  assert.equal(await quorum.controller.balanceLeaders(), 0, 'broker 1 is not in the ISR yet');
  assert.equal(stateOf(quorum, 'orders').leader, 2);

  setIsr(quorum, 'orders', 0, [2, 3, 1]);
  quorum.nowMs += 9_999;
  assert.equal(await quorum.controller.balanceLeaders(), 0, 'not before the interval');
  quorum.nowMs += 1;
  assert.equal(await quorum.controller.balanceLeaders(), 1);
  assert.deepEqual([stateOf(quorum, 'orders').leader, stateOf(quorum, 'orders').isr, stateOf(quorum, 'orders').leaderEpoch], [1, [2, 3, 1], 2]);
  quorum.nowMs += 10_000;
  assert.equal(await quorum.controller.balanceLeaders(), 0, 'balanced: nothing more to do');

  const disabled = (await quorumWith({ leaderBalance: { enabled: false, checkIntervalMs: 1, imbalancePercentage: 0 } })).quorum;
  await topic(disabled, 'x', [[1, 2]]);
  disabled.append([{ type: 'partition', topicId: disabled.image().topicsByName.get('x')!.topicId, partition: 0, replicas: [1, 2], isr: [1, 2], leader: 2, leaderEpoch: 1, partitionEpoch: 1 }]);
  for (let round = 0; round < 3; round++) {
    disabled.nowMs += 1000;
    assert.equal(await disabled.controller.balanceLeaders(), 0);
  }
  assert.equal(stateOf(disabled, 'x').leader, 2, 'auto.leader.rebalance.enable=false moves nothing');
});

test('ElectLeaders: preferred and unclean, with Kafka per-partition errors', async () => {
  const { quorum, epochs } = await quorumWith({});
  await topic(quorum, 'a', [[1, 2, 3], [2, 3, 1], [3, 1, 2]]);
  for (const index of [0, 1, 2]) setIsr(quorum, 'a', index, [1, 2, 3]);
  await fence(quorum, epochs, 1);
  await unfence(quorum, epochs, 1);
  // Partition 0 is led by 2 now; its preferred replica 1 left the ISR when fenced.
  assert.deepEqual([stateOf(quorum, 'a', 0).leader, stateOf(quorum, 'a', 0).isr], [2, [2, 3]]);
  const refused = await quorum.controller.electLeaders('preferred', [{ topic: 'a', partitions: [0, 1, 9] }, { topic: 'nope', partitions: [0] }]);
  assert.deepEqual(refused.topics.map((t) => [t.topic, t.partitions.map((p) => [p.partition, p.errorCode])]), [
    ['a', [[0, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE], [1, ErrorCode.ELECTION_NOT_NEEDED], [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
  ]);

  setIsr(quorum, 'a', 0, [2, 3, 1]);
  const before = stateOf(quorum, 'a', 0);
  // Null topic list: every partition, answering only those that needed an election.
  const all = await quorum.controller.electLeaders('preferred', null);
  assert.deepEqual(all.topics, [{ topic: 'a', partitions: [{ partition: 0, errorCode: ErrorCode.NONE, errorMessage: null }] }]);
  assert.equal(all.offset, quorum.builder.appliedOffset);
  assert.deepEqual([stateOf(quorum, 'a', 0).leader, stateOf(quorum, 'a', 0).leaderEpoch], [1, before.leaderEpoch + 1]);
  assert.deepEqual((await quorum.controller.electLeaders('preferred', null)).topics, [], 'balanced: nothing to answer');

  // Unclean on demand ignores the topic config (the operator asked).
  await topic(quorum, 'b', [[1, 2]]);
  setIsr(quorum, 'b', 0, [1]);
  await fence(quorum, epochs, 1);
  assert.equal(stateOf(quorum, 'b').leader, -1, 'ISR [1] had no live member: offline');
  const notNeeded = await quorum.controller.electLeaders('unclean', [{ topic: 'a', partitions: [1] }]);
  assert.equal(notNeeded.topics[0]!.partitions[0]!.errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  await fence(quorum, epochs, 2);
  const none = await quorum.controller.electLeaders('unclean', [{ topic: 'b', partitions: [0] }]);
  assert.equal(none.topics[0]!.partitions[0]!.errorCode, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
  await unfence(quorum, epochs, 2);
  assert.equal(stateOf(quorum, 'b').leader, -1, 'without the flag broker 2 does not take over by itself');
  const elected = await quorum.controller.electLeaders('unclean', [{ topic: 'b', partitions: [0] }]);
  assert.equal(elected.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  assert.deepEqual([stateOf(quorum, 'b').leader, stateOf(quorum, 'b').isr], [2, [2]]);
});

test('unclean election only where allowed; otherwise offline until an ISR member returns', async () => {
  const { logger, warnings } = capturingLogger();
  const counted: string[] = [];
  const { quorum, epochs } = await quorumWith({ logger, onUncleanElection: (t, p, leader) => counted.push(`${t}-${p}@${leader}`) });
  await topic(quorum, 'allowed', [[1, 2]], { 'unclean.leader.election.enable': 'true' });
  await topic(quorum, 'strict', [[1, 2]]);
  await topic(quorum, 'later', [[1, 2]]);
  for (const name of ['allowed', 'strict', 'later']) setIsr(quorum, name, 0, [1]);
  // Replica 2 is out of the ISR ([1]) on every topic; broker 1 goes down.
  await fence(quorum, epochs, 1);
  assert.deepEqual([stateOf(quorum, 'allowed').leader, stateOf(quorum, 'allowed').isr, stateOf(quorum, 'allowed').leaderEpoch], [2, [2], 1]);
  assert.deepEqual([stateOf(quorum, 'strict').leader, stateOf(quorum, 'strict').isr], [-1, [1]]);
  assert.deepEqual(counted, ['allowed-0@2']);
  assert.equal(warnings.filter((w) => /UNCLEAN/.test(w.message)).length, 1);
  assert.deepEqual(warnings.find((w) => /UNCLEAN/.test(w.message))!.fields?.['previousIsr'], [1]);

  // Turning the config on elects at once.
  const altered = await quorum.controller.alterTopicConfigs('later', [{ key: 'unclean.leader.election.enable', op: 'set', value: 'true' }], false);
  assert.equal(altered.errorCode, ErrorCode.NONE);
  assert.deepEqual([stateOf(quorum, 'later').leader, stateOf(quorum, 'later').isr], [2, [2]]);
  assert.deepEqual(counted, ['allowed-0@2', 'later-0@2']);

  // Broker 1 returns: 'strict' is led by its ISR member again; the unclean leaders keep leading.
  await unfence(quorum, epochs, 1);
  assert.deepEqual([stateOf(quorum, 'strict').leader, stateOf(quorum, 'strict').isr, stateOf(quorum, 'strict').leaderEpoch], [1, [1], 2]);
  assert.equal(stateOf(quorum, 'allowed').leader, 2);
  assert.equal(counted.length, 2);
});

test('unclean election on unfencing, and the broker default', async () => {
  const counted: string[] = [];
  const { quorum, epochs } = await quorumWith({ uncleanLeaderElectionDefault: true, onUncleanElection: (t, p, leader) => counted.push(`${t}-${p}@${leader}`) });
  await topic(quorum, 'inherits', [[1, 2]]);
  await topic(quorum, 'opted-out', [[1, 2]], { 'unclean.leader.election.enable': 'false' });
  await fence(quorum, epochs, 2);
  await fence(quorum, epochs, 1);
  assert.deepEqual([stateOf(quorum, 'inherits').leader, stateOf(quorum, 'opted-out').leader], [-1, -1]);
  // Only the out-of-ISR replica comes back.
  await unfence(quorum, epochs, 2);
  assert.deepEqual([stateOf(quorum, 'inherits').leader, stateOf(quorum, 'inherits').isr], [2, [2]]);
  assert.deepEqual([stateOf(quorum, 'opted-out').leader, stateOf(quorum, 'opted-out').isr], [-1, [1]]);
  assert.deepEqual(counted, ['inherits-0@2']);
  // The log replays to the same image on every node.
  assert.deepEqual(quorum.replay().image().topicsByName.get('inherits')!.partitions, quorum.image().topicsByName.get('inherits')!.partitions);
});

test('the electLeaders controller RPC checks every field before the controller sees it', async () => {
  const calls: unknown[] = [];
  const controller = { electLeaders: async (type: string, topics: unknown) => { calls.push([type, topics]); return { topics: [], offset: 3 }; } };
  const host = {
    activeController: () => controller as never,
    leaderId: () => 1,
    fetchMetadata: () => { throw new Error('not used'); },
  };
  for (const params of [
    { type: 'dirty', topics: null }, { type: 'preferred' }, { type: 'preferred', topics: 'all' },
    { type: 'unclean', topics: [{ topic: 't', partitions: ['0'] }] }, { type: 'unclean', topics: [{ topic: 'x'.repeat(300), partitions: [0] }] },
  ]) {
    const answer = await serveControllerRequest(host, { method: 'electLeaders', params }, silentLogger);
    assert.equal((answer as { error?: string }).error, 'invalid', JSON.stringify(params));
  }
  assert.deepEqual(calls, []);
  const good = await serveControllerRequest(host, { method: 'electLeaders', params: { type: 'unclean', topics: [{ topic: 't', partitions: [0, 2] }] } }, silentLogger);
  assert.deepEqual(good, { ok: true, result: { topics: [], offset: 3 } });
  assert.deepEqual(calls, [['unclean', [{ topic: 't', partitions: [0, 2] }]]]);
});
