// Proves, on one real node behind the fault proxy, with idempotent kafkajs producers (acks=all):
// - flush=sync survives a seeded schedule of SIGKILL, SIGSTOP/SIGCONT, SIGTERM, power loss (files
//   cut back to what was fsynced), full disk (disk guard) and ENOSPC (tmpfs data dir), and client
//   link cuts, black-holes and delays, with no acknowledged message lost or unseen, no duplicates,
//   no offset holding two values, per-partition order kept, and neither the high watermark nor a
//   group's committed offsets (committed throughout) ever decreasing;
// - flush=async survives SIGKILL/SIGSTOP/SIGTERM the same way, and under power loss the checker
//   measures what it loses (reported, not failed: that is the documented cost of async);
// - a bit flip in a stopped node's segment is never served: after SIGKILL recovery cuts the log at
//   the bad CRC, after a clean stop reads refuse the bad batch; either way the checker reports the
//   acknowledged messages from there on as lost (on one node there is no replica to repair from).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canMountTmpfs } from '../../src/chaos/disk-faults.ts';
import { readPartition } from '../helpers/read-all.ts';
import { check, summarize, type ReadPass } from './checker.ts';
import { FaultNode } from './fault-node.ts';
import { runFaultPass, type PassResult } from './run-pass.ts';
import type { FaultKind } from './schedule.ts';
import { createTopic, drainTopic, ProduceWorkload } from './workload.ts';

// Not a performance bound: a pass takes well under a minute; this only turns a hang into a failure.
const HANG_GUARD_MS = 300_000;

const probeDir = mkdtempSync(join(tmpdir(), 'tide-tmpfs-probe-'));
const tmpfsWorks = canMountTmpfs(probeDir);
rmdirSync(probeDir);

function describe(result: PassResult): string {
  return `seed ${result.seed}, faults ${JSON.stringify(result.faultsByKind)}\n${summarize(result.check)}`;
}

test('flush=sync: a seeded schedule of every single-node fault loses, duplicates and reorders nothing', { timeout: HANG_GUARD_MS }, async (t) => {
  const diskKinds: FaultKind[] = tmpfsWorks ? ['full-disk', 'disk-enospc'] : [];
  if (!tmpfsWorks) t.diagnostic('tmpfs cannot be mounted here (not root?): full-disk episodes left out of this pass');
  const kinds: FaultKind[] = ['kill', 'pause', 'terminate', 'power-loss', 'link-cut', 'link-blackhole', 'link-delay', ...diskKinds];
  const result = await runFaultPass({
    seed: 20_261_123, flush: 'sync', kinds, coverEachKind: true, maxFaults: kinds.length + 2, durationMs: 25_000, calmMs: [200, 600],
    partitions: 3, producers: 4, batchSize: 5, groupCommits: true, ...(tmpfsWorks ? { tmpfsBytes: 32 * 1024 * 1024 } : {}),
    log: (line) => t.diagnostic(line),
  });
  t.diagnostic(describe(result));
  for (const kind of kinds) assert.ok((result.faultsByKind[kind] ?? 0) >= 1, `${kind} injected`);
  assert.ok(result.check.counts.acked >= 500, `enough acknowledged (${result.check.counts.acked})`);
  assert.equal(result.check.counts.lost, 0, describe(result));
  assert.equal(result.check.counts.duplicate, 0, describe(result));
  assert.equal(result.check.counts.inconsistentOffset, 0, describe(result));
  assert.equal(result.check.counts.hwBackwards, 0, describe(result));
  assert.equal(result.check.counts.committedBackwards, 0, describe(result));
  assert.ok(result.samples.highWatermarks > 0 && result.samples.committedOffsets > 0, JSON.stringify(result.samples));
  assert.equal(result.check.valid, true, describe(result));
});

test('flush=async: SIGKILL, SIGSTOP and SIGTERM lose nothing acknowledged', { timeout: HANG_GUARD_MS }, async (t) => {
  const result = await runFaultPass({
    seed: 7, flush: 'async', kinds: ['kill', 'pause', 'terminate'], coverEachKind: true, maxFaults: 4, durationMs: 10_000, calmMs: [200, 600],
    partitions: 2, producers: 3, batchSize: 5, log: (line) => t.diagnostic(line),
  });
  t.diagnostic(describe(result));
  assert.ok(result.check.counts.acked >= 200, `enough acknowledged (${result.check.counts.acked})`);
  assert.equal(result.check.valid, true, describe(result));
});

test('flush=async: power loss is measured and reported (the documented cost of async), never garbage', { timeout: HANG_GUARD_MS }, async (t) => {
  const result = await runFaultPass({
    // maxFaults ends the schedule; the long duration only keeps a slow (loaded) machine from
    // running out of time before the third power cut.
    seed: 11, flush: 'async', kinds: ['power-loss'], maxFaults: 3, durationMs: 120_000, calmMs: [300, 1500],
    partitions: 2, producers: 3, batchSize: 5, log: (line) => t.diagnostic(line),
  });
  const { counts } = result.check;
  t.diagnostic(`async power loss: ${counts.lost} of ${counts.acked} acknowledged messages lost (${((100 * counts.lost) / Math.max(1, counts.acked)).toFixed(1)} %)`);
  t.diagnostic(describe(result));
  assert.equal(result.faultsByKind['power-loss'], 3);
  assert.ok(counts.acked > 0, 'messages were acknowledged');
  // Whatever survives is what was written: nothing unknown, no value twice.
  assert.equal(counts.unexpected, 0, describe(result));
  assert.equal(counts.duplicate, 0, describe(result));
});

for (const stop of ['kill', 'terminate'] as const) {
  test(`a bit flip in a segment (after ${stop === 'kill' ? 'SIGKILL' : 'a clean stop'}) is never served; acknowledged messages cut with it are reported lost`, { timeout: HANG_GUARD_MS }, async (t) => {
    const node = await FaultNode.create({ flush: 'sync' });
    try {
      await node.start();
      const topic = 'corrupt-me';
      await createTopic(node.bootstrap, topic, 1);
      const workload = new ProduceWorkload({ bootstrap: node.bootstrap, topic, partitions: 1, producers: 2, batchSize: 5, maxSendsPerProducer: 200 });
      workload.start();
      await workload.finished(); // every send to completion: 2 producers x 200 batches of 5
      if (stop === 'kill') await node.kill();
      else await node.terminate();
      const corruption = node.corruptSegment(`${topic}-0`, 'bitflip', 0.5, 3);
      assert.ok(corruption !== null, 'a batch to corrupt');
      t.diagnostic(`flipped bit 3 of byte ${corruption.position} of ${corruption.sizeBytes} in ${corruption.path}`);
      await node.start();
      const drained = await drainTopic(node.port, topic, 1, 'after-corruption');
      // After SIGKILL recovery scans the tail and cuts at the bad CRC, so the partition reads to its
      // end. After a clean stop the segment is trusted at startup and the read refuses the bad batch.
      if (stop === 'kill') assert.deepEqual(drained.errors, []);
      t.diagnostic(`read errors: ${JSON.stringify(drained.errors)}`);
      const partial = drained.errors.length > 0 ? await readUpTo(node.port, topic) : drained.passes;
      const report = check({ sends: workload.sends, reads: partial });
      t.diagnostic(summarize(report));
      assert.equal(report.counts.acked, 2000);
      assert.ok(report.counts.lost > 0 && report.counts.lost < 2000, `the tail from the damaged batch on is lost (${report.counts.lost})`);
      assert.equal(report.counts.unseen, report.counts.lost, 'lost as a cut tail, not as holes');
      assert.equal(report.counts.unexpected, 0, 'no damaged record served');
      assert.equal(report.counts.inconsistentOffset, 0, 'what is served is exactly what was acknowledged');
      assert.equal(report.valid, false, 'the checker flags the loss');
    } finally {
      await node.destroy();
    }
  });
}

/** Reads partition 0 from offset 0 record by record until the broker refuses; what it served. */
async function readUpTo(port: number, topic: string): Promise<ReadPass[]> {
  const records: { offset: number; value: string }[] = [];
  const maxRounds = 10_000;
  for (let round = 0; round < maxRounds; round++) {
    let batch;
    try {
      batch = await readPartition(port, topic, 0, { fromOffset: records.length, maxRounds: 1 });
    } catch {
      break; // the broker refuses the damaged batch: everything before it has been read
    }
    const fresh = batch.records.filter((record) => record.offset >= records.length);
    if (fresh.length === 0) break;
    for (const record of fresh) records.push({ offset: record.offset, value: record.value?.toString() ?? '' });
  }
  return [{ reader: 'up-to-damage', partition: 0, records }];
}
