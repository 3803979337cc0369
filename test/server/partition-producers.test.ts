// Proves a partition's idempotent-producer state is wired to its log: check, append and record
// happen as one step (a retry is a duplicate even while the original is being written, also
// within the same tick); a clean close writes the `producer-state` snapshot that the next open
// restores; without a snapshot (SIGKILL), with a damaged one, or with one ahead of the log, the
// state is rebuilt from the log and equals what the leader had; snapshots are also written
// periodically and never describe more than the log holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { silentLogger } from '../../src/util/log.ts';
import { Partition } from '../../src/server/partition.ts';
import { PartitionProducers, ProducerStateError, producerStateFileName, type PartitionProducersOptions } from '../../src/server/partition-producers.ts';
import { testConfig, withTempDir } from '../storage/helpers.ts';

const timestamp = 1_700_000_000_000;
const now = () => timestamp + 1000;

async function openPartition(dir: string, options: PartitionProducersOptions = {}): Promise<Partition> {
  const log = await PartitionLog.open(dir, testConfig(), { logger: silentLogger, now });
  const producers = await PartitionProducers.load(log, silentLogger, { now, ...options });
  return new Partition('topic', 'id', 0, log, 0, log.currentConfig, 1, producers);
}

function batch(producerId: number, baseSequence: number, count = 2, producerEpoch = 0): Buffer {
  return buildRecordBatchSync({
    producerId, producerEpoch, baseSequence, timestamp,
    records: Array.from({ length: count }, (_, index) => ({ value: `p${producerId}-s${baseSequence + index}` })),
  });
}

/** Five producers, some with more than five batches, interleaved with non-idempotent batches. */
async function produceHistory(partition: Partition): Promise<void> {
  for (let round = 0; round < 7; round++) {
    for (let producerId = 0; producerId < 5; producerId++) {
      if (round > producerId + 2) continue;
      await partition.append(batch(producerId, round * 2));
    }
    await partition.append(batch(-1, -1, 1));
  }
}

test('a retry is a duplicate with the original offsets, even sent in the same tick as the original', async () => {
  await withTempDir(async (dir) => {
    const partition = await openPartition(dir);
    const [first, retry] = await Promise.all([partition.append(batch(1, 0, 3)), partition.append(batch(1, 0, 3))]);
    assert.deepEqual([first.baseOffset, first.lastOffset, first.duplicate], [0, 2, undefined]);
    assert.deepEqual([retry.baseOffset, retry.lastOffset, retry.duplicate], [0, 2, true]);
    assert.equal(partition.logEndOffset, 3, 'stored once');

    await assert.rejects(partition.append(batch(1, 7)), (error: unknown) => error instanceof ProducerStateError && error.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    await partition.append(batch(1, 0, 1, 1));
    await assert.rejects(partition.append(batch(1, 3, 1, 0)), (error: unknown) => error instanceof ProducerStateError && error.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(partition.logEndOffset, 4, 'refused batches are not stored');
    await partition.close();
  });
});

test('a clean close writes the snapshot; the next open restores it and keeps deduplicating', async () => {
  await withTempDir(async (dir) => {
    const partition = await openPartition(dir);
    await produceHistory(partition);
    const before = partition.producers.state.entries();
    await partition.close();
    await access(join(dir, producerStateFileName));

    const reopened = await openPartition(dir);
    assert.deepEqual(reopened.producers.state.entries(), before);
    const retry = await reopened.append(batch(4, 12));
    assert.equal(retry.duplicate, true);
    await reopened.close();
  });
});

test('without a snapshot, with a damaged one, or with one ahead of the log, the state is rebuilt from the log', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 'p');
    await mkdir(dir);
    const partition = await openPartition(dir);
    await produceHistory(partition);
    const leaderState = partition.producers.state.entries();
    await partition.close();
    const snapshotPath = join(dir, producerStateFileName);
    const snapshot = await readFile(snapshotPath);

    await rm(snapshotPath); // as after SIGKILL
    let reopened = await openPartition(dir);
    assert.deepEqual(reopened.producers.state.entries(), leaderState, 'rebuilt from the log alone');
    await reopened.log.close(); // no snapshot written: the next case starts from a damaged one

    const damaged = Buffer.from(snapshot);
    damaged[damaged.length - 1]! ^= 0xff;
    await writeFile(snapshotPath, damaged);
    reopened = await openPartition(dir);
    assert.deepEqual(reopened.producers.state.entries(), leaderState, 'rebuilt despite a damaged snapshot');
    await reopened.log.close();

    // A log that lost its tail (unflushed at a crash) next to a snapshot that still describes it.
    const shortDir = join(root, 'short');
    const short = await openPartition(shortDir);
    await short.append(batch(0, 0));
    const shortState = short.producers.state.entries();
    await short.log.close();
    await copyFile(snapshotPath, join(shortDir, producerStateFileName));
    const shortReopened = await openPartition(shortDir);
    assert.deepEqual(shortReopened.producers.state.entries(), shortState, 'a snapshot ahead of the log is not trusted');
    await shortReopened.close();
  });
});

test('a snapshot is written periodically, replay resumes from it, and it never covers more than the log', async () => {
  await withTempDir(async (dir) => {
    const partition = await openPartition(dir, { snapshotIntervalOffsets: 10 });
    for (let sequence = 0; sequence < 12; sequence += 2) await partition.append(batch(9, sequence));
    await partition.producers.settle();
    const periodic = await readFile(join(dir, producerStateFileName));
    const endOffset = Number(periodic.readBigInt64BE(6));
    assert.ok(endOffset >= 10 && endOffset <= partition.log.flushedOffset, `snapshot at ${endOffset}, flushed to ${partition.log.flushedOffset}`);
    const leaderState = partition.producers.state.entries();
    await partition.log.close(); // a crash after the periodic snapshot: no final one

    const reopened = await openPartition(dir);
    assert.deepEqual(reopened.producers.state.entries(), leaderState, 'snapshot plus the log after it');
    await reopened.close();
  });
});
