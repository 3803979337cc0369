// Proves acks=all flow control between real processes (3 nodes, RF=3, min.insync.replicas=2,
// flush=sync, replica.backlog.max.bytes=256 KiB): a client keeping far more in flight than that
// (64 requests of 16 KiB on one connection) never finds more than the limit's worth of records
// above the leader's high watermark, the leader counts the requests it held, and when the leader
// is killed with SIGKILL while requests are held, every acknowledged record is on the new leader
// exactly once and in the order it was sent; the killed node rejoins with the same log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { defaultProduceRequest, produceCodec } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { createTopic, partitionOn, stopTestCluster, waitForIsr } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readPartition } from '../helpers/read-all.ts';
import { eventually, killNode, nodeMetric, startCluster, startNode, type TideCluster } from '../helpers/tide-cluster.ts';

const backlogMaxBytes = 256 * 1024;
const recordsPerRequest = 16;
const inFlight = 64;
const value = (sequence: number, index: number) => `${sequence}-${index}-`.padEnd(1000, 'x');
const requestBytes = buildRecordBatchSync({ records: Array.from({ length: recordsPerRequest }, (_, index) => ({ value: value(0, index) })) }).length;
/** What the limit lets sit above the HW, in records: whole requests, at most one over the byte count. */
const maxRecordsAboveHw = Math.ceil(backlogMaxBytes / requestBytes) * recordsPerRequest;

let cluster: TideCluster;

before(async () => {
  cluster = await startCluster(3, ['--replica.backlog.max.bytes', String(backlogMaxBytes), '--offsets.topic.num.partitions', '1', '--min.insync.replicas', '2', '--log.flush', 'sync']);
});

after(() => stopTestCluster(cluster));

interface Outcome {
  acked: string[];
  errors: Map<number, number>;
}

/**
 * Keeps `inFlight` acks=all requests going on one connection until `requests` were sent or the
 * connection failed; returns the acknowledged values in the order they were sent.
 */
async function pipeline(port: number, topic: string, requests: number, onProgress: (sent: number) => void): Promise<Outcome> {
  const client = await RawClient.connect(port);
  const answers: Array<Promise<number>> = [];
  const errors = new Map<number, number>();
  let sent = 0;
  const sendOne = (sequence: number): Promise<number> => {
    const records = buildRecordBatchSync({ records: Array.from({ length: recordsPerRequest }, (_, index) => ({ value: value(sequence, index) })) });
    return client.send(produceCodec, 9, { ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }, 60_000)
      .then((response) => response.responses[0]!.partitionResponses[0]!.errorCode, () => -1);
  };
  try {
    // Bounded by `requests`; a failed connection ends it early.
    while (sent < requests) {
      // The window is full: wait for its oldest answer before sending the next request.
      if (sent >= inFlight && await answers[sent - inFlight]! === -1) break;
      answers.push(sendOne(sent));
      sent++;
      onProgress(sent);
    }
    const codes = await Promise.all(answers);
    const acked: string[] = [];
    codes.forEach((code, sequence) => {
      errors.set(code, (errors.get(code) ?? 0) + 1);
      if (code === ErrorCode.NONE) for (let index = 0; index < recordsPerRequest; index++) acked.push(value(sequence, index));
    });
    return { acked, errors };
  } finally {
    client.close();
  }
}

test('a deep pipeline never leaves more than the limit above the HW, and the leader holds requests to keep it so', async () => {
  await createTopic(cluster, 'bounded', [1, 2, 3]);
  const view = await waitForIsr(cluster, 'bounded', 3, 1, 30_000);
  const leader = view.leader;
  const heldBefore = await nodeMetric(cluster, leader, 'tide_produce_backlog_waits_total');
  let done = false;
  let largest = 0;
  const sampling = (async () => {
    // Bounded by the producer finishing (and a cap on rounds).
    for (let round = 0; !done && round < 10_000; round++) {
      const now = await partitionOn(cluster, leader, 'bounded');
      largest = Math.max(largest, (now.logEndOffset ?? 0) - (now.highWatermark ?? 0));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const outcome = await pipeline(cluster.nodes.get(leader)!.process!.kafkaPort, 'bounded', 400, () => {});
  done = true;
  await sampling;
  assert.deepEqual([...outcome.errors], [[ErrorCode.NONE, 400]], 'every request acknowledged');
  assert.ok(largest <= maxRecordsAboveHw, `at most ${maxRecordsAboveHw} records above the HW, saw ${largest}`);
  assert.ok(await nodeMetric(cluster, leader, 'tide_produce_backlog_waits_total') > heldBefore, 'the leader held requests');
  assert.deepEqual((await partitionOn(cluster, leader, 'bounded')).isr.length, 3, 'no follower was dropped');
});

test('SIGKILL of a leader holding requests: every acknowledged record survives once and in order', async () => {
  await createTopic(cluster, 'held-kill', [2, 3, 1]);
  const before = await waitForIsr(cluster, 'held-kill', 3, 1, 30_000);
  const oldLeader = before.leader;
  let killing: Promise<void> | null = null;
  const outcome = await pipeline(cluster.nodes.get(oldLeader)!.process!.kafkaPort, 'held-kill', 2_000, (sent) => {
    // Well past the window, so requests are being held when the leader dies.
    if (sent === 300) killing = killNode(cluster, oldLeader);
  });
  await killing;
  assert.ok(outcome.acked.length > 0, 'some records were acknowledged before the kill');
  const live = [1, 2, 3].filter((id) => id !== oldLeader);
  const after = await waitForIsr(cluster, 'held-kill', 2, live[0]!, 30_000);
  assert.notEqual(after.leader, oldLeader);
  // Node live[0] may have applied the election before the new leader itself (NOT_LEADER_OR_FOLLOWER meanwhile).
  const { records } = await eventually('the new leader serves the partition', 30_000, () => readPartition(cluster.nodes.get(after.leader)!.process!.kafkaPort, 'held-kill', 0).catch(() => undefined));
  const stored = records.map((record) => record.value?.toString() ?? '');
  assert.equal(new Set(stored).size, stored.length, 'no record stored twice');
  const position = new Map(stored.map((stored, index) => [stored, index]));
  let previous = -1;
  for (const acked of outcome.acked) {
    const index = position.get(acked);
    assert.ok(index !== undefined, `acknowledged ${acked.slice(0, 12)} is on the new leader`);
    assert.ok(index > previous, `acknowledged ${acked.slice(0, 12)} is in the order it was sent`);
    previous = index;
  }

  await startNode(cluster, oldLeader);
  await waitForIsr(cluster, 'held-kill', 3, live[0]!, 40_000);
  const ends = await eventually('every replica has the same log end', 20_000, async () => {
    const views = await Promise.all([1, 2, 3].map((id) => partitionOn(cluster, id, 'held-kill')));
    return views.every((view) => view.logEndOffset === stored.length) ? true : undefined;
  });
  assert.ok(ends);
});
