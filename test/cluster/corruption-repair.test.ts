// Proves, with 3 real processes (RF=3, min.insync.replicas=2, flush=sync, small segments), that a
// damaged segment is caught by the CRC, never served, never leads, and is repaired from the other
// replicas (issue 5, item 7):
// - a bit flip in the running leader's oldest segment: a consumer reading it gets only intact
//   batches and then an error, never the bad bytes; the leader reports the damage, leadership
//   moves to another ISR member, the damaged node cuts its log there and refetches it;
// - a follower killed (SIGKILL), its last segment bit-flipped or truncated, restarted: recovery
//   cuts the damage and it refetches;
// - a follower stopped cleanly, a bit flipped in an older segment (recovery trusts it), restarted:
//   it stays fenced (never elected) while its scrubber's first pass runs, which finds the damage
//   though nothing reads it, and the follower cuts and refetches;
// in every case the damaged node ends with a log byte-identical to the leader's, rejoins the ISR,
// and every acknowledged message is present exactly once, in order;
// - an fsync failing with EIO on the leader (TIDE_TEST_FSYNC_FAIL) halts that node with a FATAL
//   line (no retry, no carrying on), production continues on another replica with nothing
//   acknowledged lost, and the node restarted without the fault rejoins with an identical log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { corruptFile, crcCoveredPosition, listSegmentFiles, type CorruptionKind } from '../../src/chaos/disk-faults.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic, fetchCodec } from '../../src/protocol/messages/fetch.ts';
import { iterateBatches } from '../../src/protocol/record-batch.ts';
import { createTopic, partitionOn, stopTestCluster, waitForIsr } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readPartition } from '../helpers/read-all.ts';
import { bootstrapOf, eventually, killNode, liveNodes, startCluster, startNode, stopNode, type TideCluster } from '../helpers/tide-cluster.ts';

let cluster: TideCluster;

before(async () => {
  cluster = await startCluster(3, [
    '--replica.lag.time.max.ms', '3000', '--offsets.topic.num.partitions', '1', '--min.insync.replicas', '2', '--log.flush', 'sync',
    '--log.segment.bytes', '65536', '--broker.session.timeout.ms', '3000', '--broker.heartbeat.interval.ms', '300',
  ]);
});

after(() => stopTestCluster(cluster));

function producer(): Producer {
  const kafka = new Kafka({
    clientId: 'corruption-test', brokers: liveNodes(cluster).map((node) => bootstrapOf(cluster, node.nodeId)), logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 },
  });
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 } });
}

/** Produces `count` messages acks=all in batches of 10 (~1 KiB each); returns the acknowledged values. */
async function produce(topic: string, tag: string, count: number): Promise<string[]> {
  const client = producer();
  await client.connect();
  const acked: string[] = [];
  try {
    for (let start = 0; start < count; start += 10) {
      const values = Array.from({ length: Math.min(10, count - start) }, (_, index) => `${tag}-${start + index}-${'x'.repeat(1000)}`);
      await client.send({ topic, acks: -1, timeout: 15_000, messages: values.map((value) => ({ value })) });
      acked.push(...values);
    }
  } finally {
    await client.disconnect();
  }
  return acked;
}

function partitionDir(nodeId: number, topic: string): string {
  return join(cluster.nodes.get(nodeId)!.dataDir, `${topic}-0`);
}

/** The node's log as bytes: its segments, oldest first (segments hold whole batches only). */
function logBytes(nodeId: number, topic: string): Buffer {
  const dir = partitionDir(nodeId, topic);
  return Buffer.concat(readdirSync(dir).filter((name) => /^\d{20}\.log$/.test(name)).sort().map((name) => readFileSync(join(dir, name))));
}

/** Every replica at the same log end, then each one's log bytes equal to the leader's. */
async function assertIdenticalLogs(topic: string, leader: number): Promise<void> {
  const end = await eventually(`every replica of ${topic} has the same log end`, 40_000, async () => {
    const views = await Promise.all([1, 2, 3].map((id) => partitionOn(cluster, id, topic)));
    const first = views[0]!.logEndOffset;
    return views.every((view) => view.logEndOffset === first && view.isr.length === 3) ? first : undefined;
  });
  assert.ok(end !== null && end > 0);
  const reference = logBytes(leader, topic);
  for (const id of [1, 2, 3]) assert.ok(logBytes(id, topic).equals(reference), `node ${id}'s log of ${topic} is byte-identical to the leader's`);
}

/** Every acknowledged value is on `nodeId` exactly once, in order. */
async function assertAcknowledged(topic: string, nodeId: number, acked: string[]): Promise<void> {
  const { records } = await readPartition(cluster.nodes.get(nodeId)!.process!.kafkaPort, topic, 0);
  const values = records.map((record) => record.value?.toString() ?? '');
  assert.equal(new Set(values).size, values.length, 'no value stored twice');
  const position = new Map(values.map((value, index) => [value, index]));
  let previous = -1;
  for (const value of acked) {
    const index = position.get(value);
    assert.ok(index !== undefined, `acknowledged ${value.slice(0, 20)} is present`);
    assert.ok(index > previous, `acknowledged ${value.slice(0, 20)} is in order`);
    previous = index;
  }
}

/**
 * Reads from offset 0 on `nodeId` as a consumer until an error; every batch returned must pass its
 * CRC. Returns how far it got and the error code that stopped it (NONE at the high watermark).
 */
async function consumeCheckingCrc(nodeId: number, topic: string): Promise<{ nextOffset: number; errorCode: number }> {
  const client = await RawClient.connect(cluster.nodes.get(nodeId)!.process!.kafkaPort);
  try {
    let offset = 0;
    for (let round = 0; round < 1000; round++) {
      const response = await client.send(fetchCodec, 11, {
        ...defaultFetchRequest(), replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1024 * 1024, isolationLevel: 0, sessionEpoch: -1,
        topics: [{ ...defaultFetchRequestFetchTopic(), topic, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: offset, partitionMaxBytes: 64 * 1024, currentLeaderEpoch: -1 }] }],
      });
      const data = response.responses[0]!.partitions[0]!;
      for (const batch of iterateBatches(data.records ?? Buffer.alloc(0))) {
        assert.ok(batch.isCrcValid(), `batch at offset ${batch.baseOffset} served by node ${nodeId} passes its CRC`);
        offset = batch.lastOffset + 1;
      }
      if (data.errorCode !== ErrorCode.NONE) return { nextOffset: offset, errorCode: data.errorCode };
      if (offset >= data.highWatermark) return { nextOffset: offset, errorCode: ErrorCode.NONE };
    }
    throw new Error('consumer made no progress');
  } finally {
    client.close();
  }
}

test('a bit flip in the running leader\'s segment is never served; leadership moves and the node repairs its log from the new leader', async () => {
  const topic = 'corrupt-leader';
  await createTopic(cluster, topic, [1, 2, 3]);
  const start = await waitForIsr(cluster, topic, 3, 1, 40_000);
  const damaged = start.leader;
  const acked = await produce(topic, 'a', 300);
  const segments = listSegmentFiles(partitionDir(damaged, topic));
  assert.ok(segments.length >= 3, `several segments (${segments.length})`);
  // Inside an older segment, past its first batch: the log before the damage stays.
  const position = crcCoveredPosition(segments[1]!, 0.5)!;
  corruptFile(segments[1]!, 'bitflip', position, 2);

  const read = await consumeCheckingCrc(damaged, topic);
  assert.notEqual(read.errorCode, ErrorCode.NONE, 'the consumer is stopped at the damaged batch');
  assert.ok(read.nextOffset > 0 && read.nextOffset < acked.length, `intact batches before the damage were served, nothing past it (stopped at ${read.nextOffset})`);

  const moved = await eventually('leadership moves off the damaged node', 30_000, async () => {
    const view = await partitionOn(cluster, damaged === 1 ? 2 : 1, topic);
    // (The repaired node may be back in the ISR by now: the cut and refetch take milliseconds.)
    return view.leader >= 0 && view.leader !== damaged ? view : undefined;
  });
  const more = await produce(topic, 'b', 50);
  await waitForIsr(cluster, topic, 3, moved.leader, 40_000);
  await assertIdenticalLogs(topic, moved.leader);
  await assertAcknowledged(topic, moved.leader, [...acked, ...more]);
  const nodeLog = await readFile(cluster.nodes.get(damaged)!.process!.logPath, 'utf8');
  assert.match(nodeLog, /reported lost data to the controller/);
  const controllerLogs = await Promise.all([1, 2, 3].map((id) => readFile(cluster.nodes.get(id)!.process!.logPath, 'utf8')));
  assert.ok(controllerLogs.some((text) => new RegExp(`replica lost data: removed from the ISR.*"brokerId":${damaged}`).test(text)), 'the controller took the damaged node out of the ISR');
  assert.match(nodeLog, /cut damaged data; refetching it from the leader/);
});

for (const kind of ['bitflip', 'truncate'] as CorruptionKind[]) {
  test(`a follower killed and its last segment damaged (${kind}) recovers, refetches and rejoins with an identical log`, async () => {
    const topic = `corrupt-follower-${kind}`;
    await createTopic(cluster, topic, [1, 2, 3]);
    const start = await waitForIsr(cluster, topic, 3, 1, 40_000);
    const follower = [1, 2, 3].find((id) => id !== start.leader)!;
    const acked = await produce(topic, 'a', 100);
    await eventually('the follower caught up', 20_000, async () => ((await partitionOn(cluster, follower, topic)).logEndOffset === acked.length ? true : undefined));
    await killNode(cluster, follower);
    // Once fenced the node is out of the ISR and of Metadata answers (clients stop dialling it).
    await waitForIsr(cluster, topic, 2, start.leader, 40_000);
    const segments = listSegmentFiles(partitionDir(follower, topic));
    const last = segments.at(-1)!;
    const position = crcCoveredPosition(last, 0.3);
    assert.ok(position !== null, 'the last segment holds batches');
    corruptFile(last, kind, position, 6);
    const more = await produce(topic, 'b', 50);
    await startNode(cluster, follower);
    await waitForIsr(cluster, topic, 3, start.leader, 40_000);
    const leader = (await partitionOn(cluster, start.leader, topic)).leader;
    await assertIdenticalLogs(topic, leader);
    await assertAcknowledged(topic, leader, [...acked, ...more]);
    const nodeLog = await readFile(cluster.nodes.get(follower)!.process!.logPath, 'utf8');
    assert.match(nodeLog, /cut the log at a bad batch/);
  });
}

test('a bit flip in an older segment of a cleanly stopped follower is found by the scrubber while the restarted node stays fenced, with nothing reading it, and repaired', async () => {
  const topic = 'corrupt-scrubbed';
  await createTopic(cluster, topic, [1, 2, 3]);
  const start = await waitForIsr(cluster, topic, 3, 1, 40_000);
  // Not the preferred replica (the first), so preferred balancing never hands it leadership here.
  const follower = [2, 3].find((id) => id !== start.leader)!;
  const acked = await produce(topic, 'a', 300);
  await eventually('the follower caught up', 20_000, async () => ((await partitionOn(cluster, follower, topic)).logEndOffset === acked.length ? true : undefined));
  await stopNode(cluster, follower);
  // A clean shutdown: at startup recovery trusts every segment but the tail of the last one.
  const segments = listSegmentFiles(partitionDir(follower, topic));
  assert.ok(segments.length >= 3, `several segments (${segments.length})`);
  corruptFile(segments[1]!, 'bitflip', crcCoveredPosition(segments[1]!, 0.5)!, 4);
  const logPath = cluster.nodes.get(follower)!.process!.logPath;
  const logBefore = (await readFile(logPath, 'utf8')).length;
  // Throttled this hard, the scrub would need over a minute: only the startup hold, which keeps
  // the node fenced and scrubs at disk speed, finds the damage within the wait below.
  cluster.nodes.get(follower)!.env = { TIDE_LOG_SCRUB_BYTES_PER_SECOND: '4096' };
  try {
    await startNode(cluster, follower);
    // Nothing reads the follower's older segments: only the scrubber can find the damage.
    await eventually('the scrubber finds the damage and the follower cuts and refetches', 40_000, async () => {
      const text = (await readFile(logPath, 'utf8')).slice(logBefore);
      return /scrub found damaged data/.test(text) && /cut damaged data; refetching it from the leader/.test(text) ? true : undefined;
    });
  } finally {
    delete cluster.nodes.get(follower)!.env;
  }
  const restartLog = await eventually('the follower is unfenced', 40_000, async () => {
    const text = (await readFile(logPath, 'utf8')).slice(logBefore);
    return /broker unfenced/.test(text) ? text : undefined;
  });
  assert.match(restartLog, /staying fenced while the first scrub/);
  assert.ok(restartLog.indexOf('scrub found damaged data') < restartLog.indexOf('broker unfenced'), 'the damage was found while the node was still fenced (it could not have been elected)');
  const more = await produce(topic, 'b', 50);
  const leader = (await partitionOn(cluster, start.leader, topic)).leader;
  assert.notEqual(leader, follower, 'the damaged follower did not take leadership');
  await waitForIsr(cluster, topic, 3, leader, 40_000);
  await assertIdenticalLogs(topic, leader);
  await assertAcknowledged(topic, leader, [...acked, ...more]);
  const metrics = await (await fetch(`http://127.0.0.1:${cluster.nodes.get(follower)!.process!.httpPort}/metrics`)).text();
  assert.match(metrics, /tide_log_scrub_damage_total\{[^}]*\} [1-9]/, 'the damage is counted on /metrics');
});

test('an fsync error halts the node; nothing acknowledged is lost and the restarted node rejoins', async () => {
  const topic = 'fsync-fail';
  const failing = 3;
  const trigger = join(cluster.baseDir, 'fsync-fail-trigger');
  await stopNode(cluster, failing);
  cluster.nodes.get(failing)!.env = { TIDE_TEST_FSYNC_FAIL: trigger };
  await startNode(cluster, failing);
  await createTopic(cluster, topic, [failing, 1, 2]);
  await eventually('the failing node leads with a full ISR', 40_000, async () => {
    const view = await partitionOn(cluster, 1, topic);
    return view.leader === failing && view.isr.length === 3 ? true : undefined;
  });
  const client = producer();
  await client.connect();
  const acked: string[] = [];
  let stop = false;
  const sending = (async () => {
    // Bounded by the flag and a cap on messages.
    for (let sequence = 0; !stop && sequence < 100_000; sequence++) {
      const value = `f-${sequence}`;
      try {
        await client.send({ topic, acks: -1, timeout: 10_000, messages: [{ value }] });
        acked.push(value);
      } catch {
        // Not acknowledged: the checker only demands what was.
      }
    }
  })();
  try {
    await eventually('some messages acknowledged', 30_000, async () => (acked.length >= 50 ? true : undefined), 50);
    await writeFile(trigger, 'fail fsync from now on\n');
    const exit = await cluster.nodes.get(failing)!.process!.exited;
    assert.equal(exit.code, 74, 'the node halts on the failed fsync');
    const ackedAtHalt = acked.length;
    await eventually('acknowledgements continue on another replica', 40_000, async () => (acked.length >= ackedAtHalt + 50 ? true : undefined), 50);
  } finally {
    stop = true;
    await sending;
    await client.disconnect();
  }
  const nodeLog = await readFile(cluster.nodes.get(failing)!.process!.logPath, 'utf8');
  assert.match(nodeLog, /FATAL: fsync failed; halting this node/);
  const leader = (await partitionOn(cluster, 1, topic)).leader;
  assert.notEqual(leader, failing);
  await assertAcknowledged(topic, leader, acked);

  await rm(trigger);
  delete cluster.nodes.get(failing)!.env;
  await startNode(cluster, failing);
  await waitForIsr(cluster, topic, 3, 1, 40_000);
  await assertIdenticalLogs(topic, leader);
  await assertAcknowledged(topic, (await partitionOn(cluster, 1, topic)).leader, acked);
});
