// Proves leader elections beyond failover on real 3-voter clusters (plus an observer, node 4):
// - preferred leader balancing: the preferred leader is SIGKILLed, restarted, rejoins the ISR and
//   gets leadership back by itself (leader.imbalance.check.interval.seconds=1), with an idempotent
//   kafkajs producer writing acks=all throughout; afterwards every acknowledged message is on the
//   leader exactly once and in order, and every replica ends at the same offset;
// - ElectLeaders (raw requests) with auto.leader.rebalance.enable=false: PREFERRED_LEADER_NOT_AVAILABLE
//   while the preferred replica is down, NONE once it is back in the ISR (leadership moves, leader
//   epoch bumped), then ELECTION_NOT_NEEDED; UNKNOWN_TOPIC_OR_PARTITION;
// - unclean election: two RF=2 topics whose only ISR member (the observer) dies while the other
//   replica is down; when that out-of-ISR replica comes back, the topic with
//   unclean.leader.election.enable=true gets it as leader (ISR = [it], warned about in the log and
//   counted in tide_unclean_leader_elections_total), the other stays offline (leader -1) until an
//   ElectLeaders of type UNCLEAN; the returning old ISR member then follows and truncates.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { electLeadersCodec, type ElectLeadersRequestTopicPartitions } from '../../src/protocol/messages/elect-leaders.ts';
import { defaultProduceRequest, produceCodec } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { createTopic, partitionOn, stopTestCluster, waitFor } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readPartition } from '../helpers/read-all.ts';
import { readLog } from '../helpers/tide-process.ts';
import { addObserver, bootstrapOf, eventually, killNode, liveNodes, metricSum, startCluster, startNode, type TideCluster } from '../helpers/tide-cluster.ts';

async function electLeaders(cluster: TideCluster, viaNode: number, electionType: number, topicPartitions: ElectLeadersRequestTopicPartitions[] | null) {
  const client = await RawClient.connect(cluster.nodes.get(viaNode)!.process!.kafkaPort);
  try {
    const response = await client.send(electLeadersCodec, 2, { electionType, topicPartitions, timeoutMs: 30_000 }, 40_000);
    assert.equal(response.errorCode, ErrorCode.NONE);
    return response.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => [p.partitionId, p.errorCode])]);
  } finally {
    client.close();
  }
}

describe('preferred leader balancing', () => {
  let cluster: TideCluster;

  before(async () => {
    cluster = await startCluster(3, [
      '--leader.imbalance.check.interval.seconds', '1', '--replica.lag.time.max.ms', '3000',
      '--offsets.topic.num.partitions', '1', '--min.insync.replicas', '2', '--log.flush', 'sync',
    ]);
  });

  after(() => stopTestCluster(cluster));

  test('leadership returns to the restarted preferred replica; nothing acknowledged is lost', async () => {
    await createTopic(cluster, 'balanced', [1, 2, 3]);
    const start = await waitFor(cluster, 2, 'balanced', 'ISR complete', (view) => view.isr.length === 3 && view.leader === 1, 40_000);
    const kafka = new Kafka({
      clientId: 'leader-balance-test', brokers: [2, 3, 1].map((id) => bootstrapOf(cluster, id)), logLevel: logLevel.NOTHING,
      retry: { retries: 40, initialRetryTime: 50, maxRetryTime: 500 },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 40, initialRetryTime: 50, maxRetryTime: 500 } });
    await producer.connect();
    const acked: string[] = [];
    let stop = false;
    let lastSendError = 'none';
    const sending = (async () => {
      // Bounded by the flag the test sets and by a cap on messages.
      for (let sequence = 0; !stop && sequence < 200_000; sequence++) {
        const value = `v-${sequence}`;
        try {
          await producer.send({ topic: 'balanced', acks: -1, timeout: 10_000, messages: [{ value }] });
          acked.push(value);
        } catch (error) {
          // Not acknowledged: may or may not be stored; only acknowledged messages are demanded.
          lastSendError = (error as Error).message;
        }
      }
    })();
    const ackedAtLeast = (count: number, what: string) => eventually(what, 40_000, async () => {
      if (acked.length >= count) return true;
      throw new Error(`${acked.length} acknowledged; last send error: ${lastSendError}`);
    }, 50);
    try {
      await ackedAtLeast(100, 'first acknowledgements');
      await killNode(cluster, 1);
      const moved = await waitFor(cluster, 2, 'balanced', 'a new leader', (view) => view.leader === 2 || view.leader === 3, 40_000);
      assert.ok(moved.leaderEpoch > start.leaderEpoch, 'failover bumped the leader epoch');
      await ackedAtLeast(acked.length + 100, 'acknowledgements on the new leader');
      await startNode(cluster, 1);
      const back = await waitFor(cluster, 2, 'balanced', 'leadership back on broker 1', (view) => view.leader === 1, 60_000);
      assert.ok(back.isr.includes(1));
      assert.ok(back.leaderEpoch >= start.leaderEpoch + 2, `leader epoch ${back.leaderEpoch} after two elections from ${start.leaderEpoch}`);
      await ackedAtLeast(acked.length + 100, 'acknowledgements after leadership returned');
    } finally {
      stop = true;
      await sending;
      await producer.disconnect();
    }

    const values = await eventually('every acknowledged message readable on the preferred leader', 30_000, async () => {
      const { records } = await readPartition(cluster.nodes.get(1)!.process!.kafkaPort, 'balanced', 0);
      const stored = records.map((record) => record.value?.toString() ?? '');
      const present = new Set(stored);
      return acked.every((value) => present.has(value)) ? stored : undefined;
    });
    assert.equal(new Set(values).size, values.length, 'no value stored twice (idempotent producer)');
    const position = new Map(values.map((value, index) => [value, index]));
    let previous = -1;
    for (const value of acked) {
      const index = position.get(value)!;
      assert.ok(index > previous, `acknowledged ${value} is in order`);
      previous = index;
    }
    const ends = await eventually('every replica has the same log end', 30_000, async () => {
      const views = await Promise.all([1, 2, 3].map((id) => partitionOn(cluster, id, 'balanced')));
      return views.every((view) => view.logEndOffset === views[0]!.logEndOffset) ? views.map((view) => view.logEndOffset) : undefined;
    });
    assert.deepEqual(ends, [values.length, values.length, values.length]);
  });
});

describe('ElectLeaders and unclean election', () => {
  let cluster: TideCluster;

  before(async () => {
    cluster = await startCluster(3, ['--auto.leader.rebalance.enable', 'false', '--replica.lag.time.max.ms', '3000', '--offsets.topic.num.partitions', '1', '--log.flush', 'sync']);
    await addObserver(cluster, 4);
  });

  after(() => stopTestCluster(cluster));

  test('preferred on demand, unclean only where allowed, offline otherwise', async () => {
    await createTopic(cluster, 'manual', [1, 2, 3]);
    await createTopic(cluster, 'unclean-on', [4, 1], { configs: { 'unclean.leader.election.enable': 'true' } });
    await createTopic(cluster, 'unclean-off', [4, 1]);
    await waitFor(cluster, 2, 'manual', 'ISR complete', (view) => view.isr.length === 3 && view.leader === 1, 40_000);
    for (const topic of ['unclean-on', 'unclean-off']) await waitFor(cluster, 2, topic, 'ISR complete', (view) => view.isr.length === 2 && view.leader === 4, 40_000);

    // Broker 1 goes down: 'manual' fails over; the RF=2 topics keep only broker 4 in their ISR.
    await killNode(cluster, 1);
    const failedOver = await waitFor(cluster, 2, 'manual', 'failover', (view) => view.leader === 2 || view.leader === 3, 40_000);
    assert.deepEqual(await electLeaders(cluster, 2, 0, [{ topic: 'manual', partitions: [0] }]), [['manual', [[0, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]]]]);
    for (const topic of ['unclean-on', 'unclean-off']) await waitFor(cluster, 2, topic, 'ISR [4]', (view) => view.isr.length === 1 && view.leader === 4, 40_000);

    // Acknowledged by the only ISR member: an unclean election will lose these (that is its price).
    const client = await RawClient.connect(cluster.nodes.get(4)!.process!.kafkaPort);
    try {
      for (const topic of ['unclean-on', 'unclean-off']) {
        const response = await client.send(produceCodec, 9, {
          ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: 10_000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatchSync({ records: [{ value: 'only-on-4' }] }) }] }],
        });
        assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
      }
    } finally {
      client.close();
    }
    await killNode(cluster, 4);
    for (const topic of ['unclean-on', 'unclean-off']) await waitFor(cluster, 2, topic, 'offline', (view) => view.leader === -1, 40_000);
    assert.equal(await metricSum(cluster, 'tide_unclean_leader_elections_total'), 0, 'no live replica outside the ISR yet: no unclean election');

    // The out-of-ISR replica returns: only the topic that allows it gets it as leader.
    await startNode(cluster, 1);
    const elected = await waitFor(cluster, 2, 'unclean-on', 'unclean leader', (view) => view.leader === 1, 40_000);
    assert.deepEqual(elected.isr, [1]);
    const offline = await partitionOn(cluster, 2, 'unclean-off');
    assert.deepEqual([offline.leader, offline.isr], [-1, [4]], 'without the flag the partition stays offline');
    assert.equal(await metricSum(cluster, 'tide_unclean_leader_elections_total'), 1);
    const logs = (await Promise.all(liveNodes(cluster).map((node) => readLog(node.process!)))).join('\n');
    assert.match(logs, /WARN .*UNCLEAN leader election.*"topic":"unclean-on"/);

    // Preferred election on demand once broker 1 is back in the ISR of 'manual' (no auto balancing here).
    const rejoined = await waitFor(cluster, 2, 'manual', 'broker 1 back in the ISR', (view) => view.isr.includes(1), 40_000);
    assert.equal(rejoined.leader, failedOver.leader, 'auto.leader.rebalance.enable=false: leadership stays');
    assert.deepEqual(await electLeaders(cluster, 3, 0, [{ topic: 'manual', partitions: [0] }, { topic: 'nope', partitions: [0] }]), [
      ['manual', [[0, ErrorCode.NONE]]], ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    const preferred = await partitionOn(cluster, 3, 'manual');
    assert.equal(preferred.leader, 1, 'answered once this node applied the election');
    assert.deepEqual(await electLeaders(cluster, 2, 0, [{ topic: 'manual', partitions: [0] }]), [['manual', [[0, ErrorCode.ELECTION_NOT_NEEDED]]]]);

    // Still offline; an UNCLEAN ElectLeaders revives it whatever the topic config says.
    assert.equal((await partitionOn(cluster, 2, 'unclean-off')).leader, -1);
    assert.deepEqual(await electLeaders(cluster, 2, 1, [{ topic: 'unclean-off', partitions: [0] }]), [['unclean-off', [[0, ErrorCode.NONE]]]]);
    assert.equal((await partitionOn(cluster, 2, 'unclean-off')).leader, 1);
    assert.deepEqual(await electLeaders(cluster, 2, 1, [{ topic: 'unclean-off', partitions: [0] }]), [['unclean-off', [[0, ErrorCode.ELECTION_NOT_NEEDED]]]]);
    assert.equal(await metricSum(cluster, 'tide_unclean_leader_elections_total'), 2);

    // The old ISR member returns as a follower: its extra record is truncated and it rejoins the ISR.
    await startNode(cluster, 4);
    for (const topic of ['unclean-on', 'unclean-off']) {
      await waitFor(cluster, 2, topic, 'broker 4 back in the ISR', (view) => view.leader === 1 && view.isr.length === 2, 40_000);
      const ends = await eventually(`${topic}: replicas agree`, 30_000, async () => {
        const views = await Promise.all([1, 4].map((id) => partitionOn(cluster, id, topic)));
        return views[0]!.logEndOffset === views[1]!.logEndOffset ? views.map((view) => view.logEndOffset) : undefined;
      });
      assert.deepEqual(ends, [0, 0], 'the record only broker 4 held is gone (unclean election)');
    }
  });
});
