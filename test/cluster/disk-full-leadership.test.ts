// Proves, on a real 3-voter cluster (RF=3, min.insync.replicas=2, flush=sync), what happens when one
// node's disk fills for real: node 1's data dir is a 64 MiB tmpfs; a filler file takes it above
// disk.max.used.ratio (0.9), so its disk guard refuses appends and its heartbeat says so at once.
// - the controller moves the leadership of the partition node 1 led to the next ISR member with room
//   (node 2), and an idempotent kafkajs producer with acks=all keeps getting acknowledged writes;
// - node 1 stays out of leadership while full, although it is the preferred replica and preferred
//   leader balancing runs every second;
// - once the filler is removed node 1 is (still, or again) in the ISR and balancing gives it its
//   leadership back;
// - every acknowledged message is on the final leader exactly once, in order.
// Needs root (mount); skipped otherwise. The mount is removed in `after`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { canMountTmpfs, fillDisk, mountTmpfs, removeFiller, unmountTmpfs } from '../../src/chaos/disk-faults.ts';
import { diskUsedRatio } from '../../src/storage/disk-guard.ts';
import { createTopic, partitionOn, waitFor, waitForIsr } from '../helpers/cluster-topics.ts';
import { readPartition } from '../helpers/read-all.ts';
import { makeTempDir, readLog, removeDir } from '../helpers/tide-process.ts';
import { bootstrapOf, eventually, liveNodes, startCluster, stopCluster, type TideCluster } from '../helpers/tide-cluster.ts';

const fullNode = 1;
const tmpfsBytes = 64 * 1024 * 1024;
const maxUsedRatio = 0.9;
// Room left once "full": the ratio is above 0.9, yet followers (and the metadata log) can still write.
const leaveFreeBytes = 4 * 1024 * 1024;

let cluster: TideCluster | undefined;
let mounted: string | null = null;
let skipReason: string | null = null;

before(async () => {
  const probe = await makeTempDir('tide-mount-probe-');
  const mountable = process.getuid?.() === 0 && canMountTmpfs(probe);
  await removeDir(probe);
  if (!mountable) {
    skipReason = 'needs root and a mountable tmpfs';
    return;
  }
  cluster = await startCluster(3, [
    '--disk.max.used.ratio', String(maxUsedRatio), '--leader.imbalance.check.interval.seconds', '1', '--replica.lag.time.max.ms', '3000',
    '--offsets.topic.num.partitions', '1', '--min.insync.replicas', '2', '--log.flush', 'sync',
  ], {
    beforeStart: (started) => {
      const dir = started.nodes.get(fullNode)!.dataDir;
      mkdirSync(dir, { recursive: true });
      mountTmpfs(dir, tmpfsBytes);
      mounted = dir;
    },
  });
});

after(async () => {
  // The nodes first (open files keep a mount busy), then the mount, then the directories.
  if (cluster) await stopCluster(cluster, true);
  if (mounted !== null) {
    removeFiller(join(mounted, 'filler'));
    unmountTmpfs(mounted);
  }
  if (cluster && process.env['KEEP_CLUSTER_DATA'] !== '1') await removeDir(cluster.baseDir);
  else if (cluster) console.log(`cluster logs kept in ${cluster.baseDir}`);
});

test('a leader whose disk fills hands its leadership to an in-sync replica with room; nothing acknowledged is lost', async (t) => {
  if (skipReason !== null || !cluster) {
    t.skip(skipReason ?? 'cluster not started');
    return;
  }
  const c = cluster;
  const dataDir = c.nodes.get(fullNode)!.dataDir;
  await createTopic(c, 'disk-full', [1, 2, 3]);
  const start = await waitFor(c, 2, 'disk-full', 'node 1 leads with a full ISR', (view) => view.leader === fullNode && view.isr.length === 3, 30_000);
  assert.ok((await diskUsedRatio(dataDir)) < maxUsedRatio, 'the tmpfs starts with room');

  const kafka = new Kafka({ clientId: 'disk-full-test', brokers: [1, 2, 3].map((id) => bootstrapOf(c, id)), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 } });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 } });
  await producer.connect();
  const acked: string[] = [];
  let phase: 'before' | 'full' | 'moved' | 'room' = 'before';
  const ackedIn = { before: 0, full: 0, moved: 0, room: 0 };
  let stop = false;
  let lastSendError = 'none';
  const sending = (async () => {
    // Bounded by the flag and by a cap on messages.
    for (let sequence = 0; !stop && sequence < 100_000; sequence++) {
      const value = `d-${sequence}`;
      const sentIn = phase;
      try {
        await producer.send({ topic: 'disk-full', acks: -1, timeout: 10_000, messages: [{ value }] });
        acked.push(value);
        ackedIn[sentIn]++;
      } catch (error) {
        // Not acknowledged: it may or may not be stored; only acknowledged messages must be there.
        lastSendError = (error as Error).message;
      }
    }
  })();
  try {
    await eventually('writes acknowledged before the disk fills', 20_000, async () => {
      if (acked.length >= 50) return true;
      throw new Error(`${acked.length} acknowledged; last error ${lastSendError}`);
    }, 50);

    // Fill node 1's disk for real.
    phase = 'full';
    const written = fillDisk(join(dataDir, 'filler'), leaveFreeBytes);
    const filledAtMs = Date.now();
    const ratio = await eventually('the used ratio reflects the filler', 5000, async () => {
      const value = await diskUsedRatio(dataDir);
      return value > maxUsedRatio ? value : undefined;
    }, 100);
    console.log(`filled node ${fullNode}'s tmpfs with ${written} bytes: used ratio ${ratio.toFixed(3)} > ${maxUsedRatio}`);

    const moved = await waitFor(c, 2, 'disk-full', 'leadership left the full node', (view) => view.leader !== fullNode && view.leader >= 0, 20_000);
    const movedAfterMs = Date.now() - filledAtMs;
    phase = 'moved';
    assert.equal(moved.leader, 2, 'the next replica in order, which has room');
    assert.ok(moved.leaderEpoch > start.leaderEpoch);
    console.log(`leadership moved ${fullNode} -> ${moved.leader} within ${movedAfterMs} ms of the filler being written`);

    await eventually('acks=all writes acknowledged by the new leader', 30_000, async () => {
      if (ackedIn.moved >= 100) return true;
      throw new Error(`${ackedIn.moved} acknowledged since the move; last error ${lastSendError}`);
    }, 50);
    // Preferred leader balancing runs every second: the full preferred replica must not get it back.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const whileFull = await partitionOn(c, 2, 'disk-full');
    assert.equal(whileFull.leader, moved.leader, 'no leadership goes back to a full broker');

    // What was acknowledged so far is on the new leader, once and in order.
    const ackedBeforeRead = acked.slice();
    const onNewLeader = await readPartition(c.nodes.get(moved.leader)!.process!.kafkaPort, 'disk-full', 0);
    assertAcknowledgedOnceInOrder(ackedBeforeRead, onNewLeader.records.map((record) => record.value?.toString() ?? ''));

    const logs = (await Promise.all(liveNodes(c).map((node) => readLog(node.process!)))).join('\n');
    assert.match(logs, /broker storage full: leaderships moved to in-sync replicas with room/);
    assert.match(logs, /storage full: reporting it to the controller/);

    // Space is back: node 1 is in the ISR and balancing returns its leadership.
    removeFiller(join(dataDir, 'filler'));
    phase = 'room';
    await waitForIsr(c, 'disk-full', 3, 2, 30_000);
    const back = await waitFor(c, 2, 'disk-full', 'leadership back on node 1', (view) => view.leader === fullNode && view.isr.includes(fullNode), 30_000);
    assert.ok(back.leaderEpoch > moved.leaderEpoch);
    await eventually('writes acknowledged after space came back', 30_000, async () => (ackedIn.room >= 50 ? true : undefined), 50);
  } finally {
    stop = true;
    await sending;
    await producer.disconnect();
  }
  console.log(`acknowledged: ${ackedIn.before} before filling, ${ackedIn.full} sent after filling until the move was seen, ${ackedIn.moved} after the move, ${ackedIn.room} after space came back`);

  const final = await waitForIsr(c, 'disk-full', 3, 2, 30_000);
  const { records } = await readPartition(c.nodes.get(final.leader)!.process!.kafkaPort, 'disk-full', 0);
  assertAcknowledgedOnceInOrder(acked, records.map((record) => record.value?.toString() ?? ''));
});

function assertAcknowledgedOnceInOrder(acked: string[], values: string[]): void {
  assert.equal(new Set(values).size, values.length, 'no message stored twice');
  const position = new Map(values.map((value, index) => [value, index]));
  let previous = -1;
  for (const value of acked) {
    const index = position.get(value);
    assert.ok(index !== undefined, `acknowledged ${value} is on the leader`);
    assert.ok(index > previous, `acknowledged ${value} is in order`);
    previous = index;
  }
}
