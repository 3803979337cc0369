// Proves how the controller finds dead brokers besides the session (broker-liveness.ts): when the
// connection a broker heartbeats over closes, the broker is fenced after connectionLossFenceMs
// unless it heartbeats again (over a live connection) first; a heartbeat read before its connection
// closed does not save it; a silent broker whose connection stays open (SIGSTOP, a hang) is fenced
// by the session only; in-process heartbeats are never fenced this way; a new controller with a
// takeover grace fences brokers that do not heartbeat to it within the grace, and without one
// gives a whole session; a broker fenced for a lost connection is unfenced by its next heartbeat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerLiveness, type HeartbeatConnection } from '../../src/controller/broker-liveness.ts';
import { QuorumController } from '../../src/controller/quorum-controller.ts';
import { createRequest, FakeQuorum } from './fake-quorum.ts';

const fenceMs = 500;
const sessionMs = 6000;

function connection(id: number): HeartbeatConnection & { closed: boolean } {
  return { id, closed: false };
}

async function clusterOf(count: number): Promise<{ quorum: FakeQuorum; epochs: Map<number, number> }> {
  const quorum = new FakeQuorum({ sessionTimeoutMs: sessionMs, limits: { defaultPartitions: 3, defaultReplicationFactor: 3, maxPartitionsPerTopic: 100 }, deps: { connectionLossFenceMs: fenceMs, takeoverGraceMs: 1000 } });
  await quorum.controller.ensureClusterId('cluster-x');
  const epochs = new Map<number, number>();
  for (let nodeId = 1; nodeId <= count; nodeId++) epochs.set(nodeId, await quorum.addBroker(nodeId));
  return { quorum, epochs };
}

/** A second controller over the same log, as after a Raft leader change (1 s takeover grace). */
function successorOf(quorum: FakeQuorum, refusingBrokers?: () => ReadonlySet<number>): QuorumController {
  return new QuorumController({
    image: () => quorum.builder.image(), propose: async (records) => quorum.append(records), nowMs: () => quorum.nowMs,
    newTopicId: () => 'f'.repeat(32), limits: { defaultPartitions: 1, defaultReplicationFactor: 1, maxPartitionsPerTopic: 10 },
    sessionTimeoutMs: sessionMs, connectionLossFenceMs: fenceMs, takeoverGraceMs: 1000,
    ...(refusingBrokers ? { refusingBrokers } : {}),
  });
}

function beat(quorum: FakeQuorum, nodeId: number, brokerEpoch: number, over?: HeartbeatConnection) {
  return quorum.controller.heartbeat({ nodeId, brokerEpoch, metadataOffset: quorum.builder.appliedOffset, wantFence: false }, over);
}

function fenced(quorum: FakeQuorum): number[] {
  return [...quorum.image().brokers.values()].filter((broker) => broker.fenced).map((broker) => broker.nodeId).sort();
}

test('a closed heartbeat connection fences the broker after the grace, and moves its leaderships', async () => {
  const { quorum, epochs } = await clusterOf(3);
  const links = new Map([1, 2, 3].map((nodeId) => [nodeId, connection(100 + nodeId)]));
  for (const [nodeId, epoch] of epochs) await beat(quorum, nodeId, epoch, links.get(nodeId));
  await quorum.controller.createTopic(createRequest('t', 3, 3), false);
  const topicId = quorum.image().topicsByName.get('t')!.topicId;
  // Followers caught up: full ISRs, so the victim's partitions can fail over.
  quorum.append(quorum.image().topicsByName.get('t')!.partitions.map((p) => ({ type: 'partition' as const, topicId, partition: p.partition, replicas: p.replicas, isr: [...p.replicas], leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch + 1 })));
  const victim = quorum.image().topicsByName.get('t')!.partitions[0]!.leader;

  links.get(victim)!.closed = true;
  quorum.controller.connectionClosed(links.get(victim)!.id);
  quorum.controller.connectionClosed(999); // nobody's: changes nothing
  quorum.nowMs += fenceMs - 1;
  await quorum.controller.tick();
  assert.deepEqual(fenced(quorum), [], 'not before the grace');
  quorum.nowMs += 1;
  await quorum.controller.tick();
  assert.deepEqual(fenced(quorum), [victim], 'fenced long before the session would expire');
  for (const partition of quorum.image().topicsByName.get('t')!.partitions) {
    assert.notEqual(partition.leader, victim);
    assert.ok(!partition.isr.includes(victim));
  }

  // The broker was alive after all (a cut link): its next heartbeat unfences it.
  const back = await beat(quorum, victim, epochs.get(victim)!, connection(200));
  assert.deepEqual([back.errorCode, back.fenced], [0, false]);
  assert.deepEqual(fenced(quorum), []);
  quorum.nowMs += sessionMs - 1;
  for (const [nodeId, epoch] of epochs) if (nodeId !== victim) await beat(quorum, nodeId, epoch, links.get(nodeId));
  await quorum.controller.tick();
  assert.deepEqual(fenced(quorum), [], 'the old deadline does not fence it again');
});

test('a heartbeat over a new connection within the grace keeps the broker; one read before the close does not', async () => {
  const { quorum, epochs } = await clusterOf(2);
  const first = connection(1);
  await beat(quorum, 1, epochs.get(1)!, first);
  await beat(quorum, 2, epochs.get(2)!, connection(2));
  first.closed = true;
  quorum.controller.connectionClosed(first.id);
  quorum.nowMs += 100;
  await beat(quorum, 1, epochs.get(1)!, connection(3)); // reconnected
  quorum.nowMs += fenceMs * 4;
  await quorum.controller.tick();
  assert.deepEqual(fenced(quorum), []);

  // Broker 2's heartbeat was read off its connection, which then closed before the controller got to it.
  const late = connection(4);
  await beat(quorum, 2, epochs.get(2)!, late);
  late.closed = true;
  quorum.controller.connectionClosed(late.id);
  const stale = connection(4);
  stale.closed = true;
  await beat(quorum, 2, epochs.get(2)!, stale);
  quorum.nowMs += fenceMs;
  await quorum.controller.tick();
  assert.deepEqual(fenced(quorum), [2]);
});

test('a silent broker whose connection stays open (SIGSTOP, a hang) is fenced by the session only', async () => {
  const { quorum, epochs } = await clusterOf(3);
  for (const [nodeId, epoch] of epochs) await beat(quorum, nodeId, epoch, connection(nodeId));
  for (let step = 0; step < 7; step++) {
    quorum.nowMs += 1000;
    for (const [nodeId, epoch] of epochs) if (nodeId !== 3) await beat(quorum, nodeId, epoch, connection(nodeId));
    await quorum.controller.tick();
    if (quorum.nowMs - 1_000_000 <= sessionMs) assert.deepEqual(fenced(quorum), [], `not fenced after ${step + 1} s`);
  }
  assert.deepEqual(fenced(quorum), [3]);
});

test('in-process heartbeats (the controller node\'s own broker) are not watched for connection loss', async () => {
  const { quorum, epochs } = await clusterOf(1);
  await beat(quorum, 1, epochs.get(1)!);
  for (let id = 0; id < 10; id++) quorum.controller.connectionClosed(id);
  quorum.nowMs += sessionMs;
  await quorum.controller.tick();
  assert.deepEqual(fenced(quorum), []);
});

test('a new controller fences brokers that do not heartbeat to it within the takeover grace', async () => {
  const { quorum, epochs } = await clusterOf(3);
  const successor = successorOf(quorum);
  successor.onBecomeLeader();
  quorum.nowMs += 300;
  await successor.heartbeat({ nodeId: 1, brokerEpoch: epochs.get(1)!, metadataOffset: quorum.builder.appliedOffset, wantFence: false }, connection(1));
  await successor.heartbeat({ nodeId: 2, brokerEpoch: epochs.get(2)!, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
  quorum.nowMs += 699;
  await successor.tick();
  assert.deepEqual(fenced(quorum), []);
  quorum.nowMs += 1;
  await successor.tick();
  assert.deepEqual(fenced(quorum), [3], 'broker 3 (the old controller\'s, say) never spoke to the new controller');
});

test('BrokerLiveness: first sighting gets a session, fenced brokers are not reported, the earliest deadline wins', () => {
  const liveness = new BrokerLiveness({ sessionTimeoutMs: 1000, connectionLossFenceMs: 100, takeoverGraceMs: 0 });
  assert.deepEqual(liveness.expired([{ nodeId: 1, fenced: false }], 0), []);
  assert.deepEqual(liveness.expired([{ nodeId: 1, fenced: false }], 1001), [{ nodeId: 1, reason: 'session expired' }]);
  assert.deepEqual(liveness.expired([{ nodeId: 1, fenced: true }], 5000), []);
  liveness.heard(2, 0, connection(7));
  assert.deepEqual(liveness.connectionClosed(7, 10), [2]);
  assert.deepEqual(liveness.connectionClosed(7, 50), [], 'already handled');
  assert.deepEqual(liveness.expired([{ nodeId: 2, fenced: false }], 109), []);
  assert.deepEqual(liveness.expired([{ nodeId: 2, fenced: false }], 110), [{ nodeId: 2, reason: 'connection lost' }]);
  const off = new BrokerLiveness({ sessionTimeoutMs: 1000 });
  off.heard(3, 0, connection(8));
  off.connectionClosed(8, 0);
  assert.deepEqual(off.expired([{ nodeId: 3, fenced: false }], 999), [], 'connection-loss fencing off: the session decides');
});

test('a new controller gives a broker whose node refuses connections the connection-loss grace, not the takeover grace', async () => {
  const { quorum, epochs } = await clusterOf(3);
  const successor = successorOf(quorum, () => new Set([3]));
  successor.onBecomeLeader();
  quorum.nowMs += 100;
  await successor.heartbeat({ nodeId: 1, brokerEpoch: epochs.get(1)!, metadataOffset: quorum.builder.appliedOffset, wantFence: false }, connection(1));
  await successor.heartbeat({ nodeId: 2, brokerEpoch: epochs.get(2)!, metadataOffset: quorum.builder.appliedOffset, wantFence: false });
  quorum.nowMs += fenceMs - 101;
  await successor.tick();
  assert.deepEqual(fenced(quorum), []);
  quorum.nowMs += 1;
  await successor.tick();
  assert.deepEqual(fenced(quorum), [3], 'broker 3 refused the new controller\'s connection: fenced after 500 ms, not 1 s');
});

test('BrokerLiveness.takeOver: a refusing broker that heartbeats in time is kept; the longer grace never wins for it', () => {
  const liveness = new BrokerLiveness({ sessionTimeoutMs: 6000, connectionLossFenceMs: 500, takeoverGraceMs: 1000 });
  liveness.takeOver([1, 2], 0, new Set([2]));
  liveness.heard(2, 300, connection(9));
  assert.deepEqual(liveness.expired([{ nodeId: 1, fenced: false }, { nodeId: 2, fenced: false }], 999), []);
  assert.deepEqual(liveness.expired([{ nodeId: 1, fenced: false }, { nodeId: 2, fenced: false }], 1000), [{ nodeId: 1, reason: 'silent since the controller took over' }]);
  const noLossGrace = new BrokerLiveness({ sessionTimeoutMs: 6000, takeoverGraceMs: 1000 });
  noLossGrace.takeOver([3], 0, new Set([3]));
  assert.deepEqual(noLossGrace.expired([{ nodeId: 3, fenced: false }], 999), [], 'connection-loss fencing off: the takeover grace applies');
  assert.deepEqual(noLossGrace.expired([{ nodeId: 3, fenced: false }], 1000), [{ nodeId: 3, reason: 'silent since the controller took over' }]);
});
