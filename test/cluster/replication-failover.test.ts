// Proves partition replication between real processes (3 voters + 1 observer, RF=3,
// min.insync.replicas=2, flush=sync): a new partition starts with every replica in the ISR, so
// acks=all works at once (it got NOT_ENOUGH_REPLICAS until the followers had joined one by one),
// and what it acknowledges first survives SIGKILL of the leader; followers hold the leader's log;
// kafkajs produces acks=all with idempotence while the partition's leader is killed with SIGKILL,
// production continues on the new leader, and afterwards every acknowledged message
// is there exactly once and in order, and every replica's log end matches (the killed node
// rejoins the ISR after restarting); a follower stopped with SIGSTOP leaves the ISR after
// replica.lag.time.max.ms and rejoins after SIGCONT; with two of a partition's three replicas down
// acks=all is refused with NOT_ENOUGH_REPLICAS. The leaders count what they do in /metrics (leaderships
// taken, ISR shrinks and expansions). Prints the failover time it observes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { defaultFetchRequest, defaultFetchRequestFetchPartition, fetchCodec } from '../../src/protocol/messages/fetch.ts';
import { defaultProduceRequest, produceCodec } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { createTopic, partitionOn, partitionsOn, stopTestCluster, waitForIsr } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readPartition } from '../helpers/read-all.ts';
import { addObserver, bootstrapOf, eventually, killNode, nodeMetric, startCluster, startNode, type TideCluster } from '../helpers/tide-cluster.ts';

const lagTimeMaxMs = 3000;
let cluster: TideCluster;

before(async () => {
  // FAILOVER_SESSION_MS=2000 measures failover with a shorter broker session than the default 6000.
  const sessionMs = Number(process.env['FAILOVER_SESSION_MS'] ?? 0);
  const sessionArgs = sessionMs > 0 ? ['--broker.session.timeout.ms', String(sessionMs), '--broker.heartbeat.interval.ms', String(Math.max(50, Math.floor(sessionMs / 6)))] : [];
  // A short lag limit keeps the SIGSTOP case quick.
  cluster = await startCluster(3, ['--replica.lag.time.max.ms', String(lagTimeMaxMs), '--offsets.topic.num.partitions', '1', '--min.insync.replicas', '2', '--log.flush', 'sync', ...sessionArgs]);
  await addObserver(cluster, 4);
});

after(() => stopTestCluster(cluster));

function producerFor(bootstrapNodes: number[]): Producer {
  const kafka = new Kafka({
    clientId: 'replication-test', brokers: bootstrapNodes.map((id) => bootstrapOf(cluster, id)), logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 },
  });
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 } });
}

test('followers hold the leader log', async () => {
  await createTopic(cluster, 'replicated', [1, 2, 3]);
  await waitForIsr(cluster, 'replicated', 3, 1, 30_000);
  const producer = producerFor([1, 2, 3]);
  await producer.connect();
  try {
    for (let batch = 0; batch < 10; batch++) {
      await producer.send({ topic: 'replicated', acks: -1, messages: Array.from({ length: 5 }, (_, index) => ({ value: `m-${batch * 5 + index}` })) });
    }
  } finally {
    await producer.disconnect();
  }
  const ends = await eventually('every replica holds 50 records', 20_000, async () => {
    const views = await Promise.all([1, 2, 3].map((id) => partitionOn(cluster, id, 'replicated')));
    return views.every((view) => view.logEndOffset === 50) ? views.map((view) => view.logEndOffset) : undefined;
  });
  assert.deepEqual(ends, [50, 50, 50]);
  const leader = (await partitionOn(cluster, 1, 'replicated')).leader;
  const { records } = await readPartition(cluster.nodes.get(leader)!.process!.kafkaPort, 'replicated', 0);
  assert.deepEqual(records.map((record) => record.value?.toString()), Array.from({ length: 50 }, (_, index) => `m-${index}`));

  // CVE-2018-1288: a client claiming a follower's replica id is refused and moves nothing.
  const client = await RawClient.connect(cluster.nodes.get(leader)!.process!.kafkaPort);
  try {
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const forged = await client.send(fetchCodec, 12, {
      ...defaultFetchRequest(), replicaId: follower, maxWaitMs: 0, minBytes: 0, maxBytes: 1024 * 1024,
      topics: [{ topic: 'replicated', topicId: '0'.repeat(32), partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 * 1024 }] }],
    });
    const answer = forged.responses[0]!.partitions[0]!;
    assert.equal(answer.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.equal(answer.records?.length ?? 0, 0);
  } finally {
    client.close();
  }
  const afterForgery = await partitionOn(cluster, leader, 'replicated');
  assert.deepEqual([afterForgery.isr.length, afterForgery.highWatermark], [3, 50]);
});

test('a new partition takes acks=all at once, and what it acknowledges first survives SIGKILL of its leader', async () => {
  const topic = 'newborn';
  const partitions = 6;
  await createTopic(cluster, topic, [2, 3, 1], { via: 2, partitions });
  const value = (partition: number, round: number, index: number) => `p${partition}-r${round}-${index}`;
  const rounds = 5;
  const client = await RawClient.connect(cluster.nodes.get(2)!.process!.kafkaPort);
  try {
    for (let round = 0; round < rounds; round++) {
      let waiting = Array.from({ length: partitions }, (_, partition) => partition);
      // Node 2 answered CreateTopics once it had opened the partitions; it may take a moment more to lead them.
      for (let attempt = 0; waiting.length > 0; attempt++) {
        const response = await client.send(produceCodec, 9, {
          ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: 30_000,
          topicData: [{ name: topic, partitionData: waiting.map((index) => ({ index, records: buildRecordBatchSync({ records: Array.from({ length: 10 }, (_, i) => ({ value: value(index, round, i) })) }) })) }],
        });
        const answers = response.responses[0]!.partitionResponses;
        const notYetLeading = [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE] as number[];
        for (const answer of answers) {
          if (answer.errorCode === ErrorCode.NONE) continue;
          assert.ok(round === 0 && attempt < 50 && notYetLeading.includes(answer.errorCode), `partition ${answer.index}, round ${round}: error ${answer.errorCode} (NOT_ENOUGH_REPLICAS is ${ErrorCode.NOT_ENOUGH_REPLICAS})`);
        }
        waiting = answers.filter((answer) => answer.errorCode !== ErrorCode.NONE).map((answer) => answer.index);
        if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.close();
  }

  await killNode(cluster, 2);
  for (let partition = 0; partition < partitions; partition++) {
    const expected = Array.from({ length: rounds * 10 }, (_, n) => value(partition, Math.floor(n / 10), n % 10));
    // A new leader learns the HW as its followers fetch: until then it serves less.
    const served = await eventually(`${topic}-${partition} served by a new leader up to HW ${expected.length}`, 30_000, async () => {
      const leader = (await partitionsOn(cluster, 3, topic))[partition]!.leader;
      if (leader === 2 || leader < 0) return undefined;
      const read = await readPartition(cluster.nodes.get(leader)!.process!.kafkaPort, topic, partition).catch(() => undefined);
      return read !== undefined && read.highWatermark >= expected.length ? read : undefined;
    });
    assert.deepEqual(served.records.map((record) => record.value?.toString()), expected, `${topic}-${partition}: every acknowledged record, once, in order`);
  }
  await startNode(cluster, 2);
  await waitForIsr(cluster, topic, 3, 3, 40_000);
});

test('SIGKILL of the leader: production continues, nothing acknowledged is lost or duplicated', async () => {
  await createTopic(cluster, 'failover', [2, 3, 1]);
  const before = await waitForIsr(cluster, 'failover', 3, 1, 30_000);
  const oldLeader = before.leader;
  const producer = producerFor([1, 2, 3].filter((id) => id !== oldLeader).concat(oldLeader));
  await producer.connect();
  const acked: string[] = [];
  let killedAtMs: number | null = null;
  let leaderGone = false;
  let firstAckAfterKillMs: number | null = null;
  let stop = false;
  let lastSendError = 'none';
  const sending = (async () => {
    // Bounded by the flag the test sets and by a cap on messages.
    for (let sequence = 0; !stop && sequence < 100_000; sequence++) {
      const value = `v-${sequence}`;
      // Only a write sent once the old leader is gone can show that the new one took over.
      const sentAfterKill = leaderGone;
      try {
        await producer.send({ topic: 'failover', acks: -1, timeout: 10_000, messages: [{ value }] });
        acked.push(value);
        if (sentAfterKill && firstAckAfterKillMs === null) firstAckAfterKillMs = Date.now();
      } catch (error) {
        // Not acknowledged: may or may not be stored; the checker only demands what was acked.
        lastSendError = (error as Error).message;
      }
    }
  })();
  await eventually('some messages acknowledged', 20_000, async () => {
    if (acked.length >= 100) return true;
    throw new Error(`${acked.length} acknowledged; last send error: ${lastSendError}`);
  }, 50);
  const electionsBefore = new Map<number, number>();
  for (const id of [1, 2, 3]) electionsBefore.set(id, await nodeMetric(cluster, id, 'tide_leader_elections_total'));
  killedAtMs = Date.now();
  await killNode(cluster, oldLeader);
  leaderGone = true;
  await eventually('acknowledgements resume after the kill', 30_000, async () => (firstAckAfterKillMs !== null ? true : undefined), 50);
  const ackedAtResume = acked.length;
  await eventually('more messages acknowledged on the new leader', 20_000, async () => (acked.length >= ackedAtResume + 100 ? true : undefined), 50);
  stop = true;
  await sending;
  await producer.disconnect();
  console.log(`failover: SIGKILL of leader ${oldLeader} -> first acknowledged write sent after the kill: ${firstAckAfterKillMs! - killedAtMs} ms`);

  const live = [1, 2, 3].filter((id) => id !== oldLeader);
  const after = await waitForIsr(cluster, 'failover', 2, live[0]!, 30_000);
  assert.notEqual(after.leader, oldLeader);
  assert.ok(await nodeMetric(cluster, after.leader, 'tide_leader_elections_total') > electionsBefore.get(after.leader)!, 'the new leader counts the leadership it took');
  const { records } = await readPartition(cluster.nodes.get(after.leader)!.process!.kafkaPort, 'failover', 0);
  const values = records.map((record) => record.value?.toString() ?? '');
  assert.equal(new Set(values).size, values.length, 'no value stored twice (idempotent producer)');
  const position = new Map(values.map((value, index) => [value, index]));
  let previous = -1;
  for (const value of acked) {
    const index = position.get(value);
    assert.ok(index !== undefined, `acknowledged ${value} is on the new leader`);
    assert.ok(index > previous, `acknowledged ${value} is in order`);
    previous = index;
  }

  // The killed node restarts, catches up and rejoins the ISR; every replica ends at the same offset.
  await startNode(cluster, oldLeader);
  await waitForIsr(cluster, 'failover', 3, live[0]!, 40_000);
  const ends = await eventually('every replica has the same log end', 20_000, async () => {
    const views = await Promise.all([1, 2, 3].map((id) => partitionOn(cluster, id, 'failover')));
    const end = views[0]!.logEndOffset;
    return views.every((view) => view.logEndOffset === end) ? end : undefined;
  });
  assert.equal(ends, values.length);
});

test('a follower stopped with SIGSTOP leaves the ISR and rejoins after SIGCONT', async () => {
  await createTopic(cluster, 'paused', [1, 2, 3]);
  const start = await waitForIsr(cluster, 'paused', 3, 1, 30_000);
  const follower = [1, 2, 3].find((id) => id !== start.leader)!;
  const leaderNode = start.leader;
  const pid = cluster.nodes.get(follower)!.process!.pid;
  const producer = producerFor([leaderNode]);
  await producer.connect();
  const shrinksBefore = await nodeMetric(cluster, leaderNode, 'tide_isr_shrinks_total');
  const expandsBefore = await nodeMetric(cluster, leaderNode, 'tide_isr_expands_total');
  try {
    process.kill(pid, 'SIGSTOP');
    try {
      await waitForIsr(cluster, 'paused', 2, leaderNode, 30_000);
      // Two in-sync replicas still satisfy min.insync.replicas=2.
      await producer.send({ topic: 'paused', acks: -1, messages: [{ value: 'while-stopped' }] });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitForIsr(cluster, 'paused', 3, leaderNode, 40_000);
    await producer.send({ topic: 'paused', acks: -1, messages: [{ value: 'after-resume' }] });
  } finally {
    await producer.disconnect();
  }
  const ends = await eventually('the resumed follower caught up', 20_000, async () => {
    const views = await Promise.all([1, 2, 3].map((id) => partitionOn(cluster, id, 'paused')));
    return views.every((view) => view.logEndOffset === 2) ? views.map((view) => view.logEndOffset) : undefined;
  });
  assert.deepEqual(ends, [2, 2, 2]);
  // Node-wide counters: the paused node may also follow other partitions this node leads.
  assert.ok(await nodeMetric(cluster, leaderNode, 'tide_isr_shrinks_total') > shrinksBefore, 'the leader counted the shrink');
  assert.ok(await nodeMetric(cluster, leaderNode, 'tide_isr_expands_total') > expandsBefore, 'and the expansion');
});

test('with two of three replicas down acks=all gets NOT_ENOUGH_REPLICAS', async () => {
  // Replicas on voters 1 and 3 and the observer 4: stopping 3 and 4 keeps the controller quorum (1, 2).
  await createTopic(cluster, 'scarce', [1, 3, 4]);
  await waitForIsr(cluster, 'scarce', 3, 1, 30_000);
  await killNode(cluster, 3);
  await killNode(cluster, 4);
  await waitForIsr(cluster, 'scarce', 1, 1, 40_000);
  const client = await RawClient.connect(cluster.nodes.get(1)!.process!.kafkaPort);
  try {
    const records = buildRecordBatchSync({ records: [{ value: 'refused' }] });
    const produce = (acks: number) => client.send(produceCodec, 9, { ...defaultProduceRequest(), transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: 'scarce', partitionData: [{ index: 0, records }] }] });
    const refused = await produce(-1);
    assert.equal(refused.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    const accepted = await produce(1);
    assert.equal(accepted.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'acks=1 still works');
  } finally {
    client.close();
  }
});
