// Proves the PartitionLog contract on real files: offsets assigned in call order, append/read
// round trips across several segments with the maxBytes / maxOffset rules, rolling by size and
// age, retention by time and size, deleteRecordsBefore, offsetForTimestamp, truncation, follower
// appends, leader epochs, and that a reopened log holds exactly what was there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { OffsetOutOfRangeError, StorageError } from '../../src/storage/errors.ts';
import { iterateBatches, RecordBatchView } from '../../src/protocol/record-batch.ts';
import { buildRecordBatchSync, decodeBatchRecordsSync } from '../../src/protocol/records.ts';
import { silentLogger } from '../../src/util/log.ts';
import { makeBatch, readAllBatches, testConfig, withTempDir } from './helpers.ts';

const options = { logger: silentLogger };

test('concurrent appends get offsets in call order and read back byte for byte across segments', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 1500 }), options);
    const batches = Array.from({ length: 60 }, (_, index) => makeBatch(`b${index}`, 1 + (index % 3)));
    const results = await Promise.all(batches.map((batch) => log.append(batch, 0)));
    let expected = 0;
    for (const [index, result] of results.entries()) {
      assert.equal(result.baseOffset, expected);
      expected += 1 + (index % 3);
      assert.equal(result.lastOffset, expected - 1);
      assert.equal(result.logAppendTimeMs, -1);
    }
    assert.equal(log.logEndOffset, expected);
    assert.ok(log.segmentBaseOffsets().length > 3, 'rolled several times');
    const read = await readAllBatches(log);
    assert.equal(read.length, 60);
    read.forEach((view, index) => assert.deepEqual(view.bytes(), batches[index], `batch ${index}`));
    await log.close();
  });
});

test('reads honour maxBytes (at least one batch), maxOffset and offsets inside a batch', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig(), options);
    for (let index = 0; index < 10; index++) await log.append(makeBatch(`x${index}`, 5), 1);
    const one = makeBatch('x0', 5).length;
    const tiny = await log.read(0, 1, 50);
    assert.equal([...iterateBatches(tiny.records)].length, 1, 'one whole batch even when maxBytes is smaller');
    assert.equal(tiny.nextOffset, 5);
    const three = await log.read(12, one * 3, 50);
    const views = [...iterateBatches(three.records)];
    assert.deepEqual(views.map((view) => view.baseOffset), [10, 15, 20], 'starts at the batch containing offset 12');
    assert.equal(three.nextOffset, 25);
    const capped = await log.read(0, 1_000_000, 20);
    assert.deepEqual([...iterateBatches(capped.records)].map((view) => view.baseOffset), [0, 5, 10, 15]);
    const atHighWatermark = await log.read(20, 1_000_000, 20);
    assert.equal(atHighWatermark.records.length, 0);
    assert.equal(atHighWatermark.nextOffset, 20);
    const atEnd = await log.read(50, 1000, 100);
    assert.equal(atEnd.records.length, 0);
    await assert.rejects(log.read(51, 1000, 100), OffsetOutOfRangeError);
    await log.close();
  });
});

test('segments roll by size and by age', async () => {
  await withTempDir(async (dir) => {
    let nowMs = 1_000_000;
    const batch = makeBatch('s', 1);
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: batch.length * 3, segmentMs: 60_000 }), { ...options, now: () => nowMs });
    for (let index = 0; index < 7; index++) await log.append(makeBatch('s', 1), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 3, 6], 'three batches fit per segment');
    nowMs += 59_999;
    await log.append(makeBatch('s', 1), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 3, 6]);
    nowMs += 1;
    await log.append(makeBatch('s', 1), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 3, 6, 8], 'rolled because the active segment reached segmentMs');
    const names = (await readdir(dir)).filter((name) => name.endsWith('.log'));
    assert.deepEqual(names, ['00000000000000000000.log', '00000000000000000003.log', '00000000000000000006.log', '00000000000000000008.log']);
    await log.close();
  });
});

test('retention deletes old segments by time, never the active one', async () => {
  await withTempDir(async (dir) => {
    const batch = (timestamp: number) => makeBatch('t', 1, { timestamp });
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: batch(0).length * 2, retentionMs: 10_000 }), options);
    for (const timestamp of [1000, 2000, 3000, 4000, 50_000, 51_000, 52_000]) await log.append(batch(timestamp), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 2, 4, 6]);
    assert.deepEqual(await log.enforceRetention(20_000), { deletedSegments: 2 });
    assert.deepEqual(log.segmentBaseOffsets(), [4, 6]);
    assert.equal(log.logStartOffset, 4);
    await assert.rejects(log.read(3, 1000, 100), OffsetOutOfRangeError);
    assert.deepEqual(await log.enforceRetention(1_000_000), { deletedSegments: 1 }, 'the active segment stays');
    assert.deepEqual(log.segmentBaseOffsets(), [6]);
    const files = await readdir(dir);
    assert.ok(!files.includes('00000000000000000000.log') && !files.includes('00000000000000000000.index'));
    await log.close();
  });
});

test('retention respects the high watermark', async () => {
  await withTempDir(async (dir) => {
    const size = makeBatch('h', 1, { timestamp: 1 }).length;
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: size, retentionMs: 1 }), options);
    for (let index = 0; index < 5; index++) await log.append(makeBatch('h', 1, { timestamp: 1 }), 0);
    assert.deepEqual(await log.enforceRetention(1_000_000, 2), { deletedSegments: 2 });
    assert.equal(log.logStartOffset, 2);
    await log.close();
  });
});

test('retention deletes the oldest segments by size', async () => {
  await withTempDir(async (dir) => {
    const size = makeBatch('z', 1).length;
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: size * 2, retentionBytes: size * 3 }), options);
    for (let index = 0; index < 9; index++) await log.append(makeBatch('z', 1), 0);
    assert.equal(log.sizeBytes(), size * 9);
    const { deletedSegments } = await log.enforceRetention(Date.now());
    assert.equal(deletedSegments, 3);
    assert.equal(log.sizeBytes(), size * 3);
    assert.deepEqual(log.segmentBaseOffsets(), [6, 8]);
    await log.close();
  });
});

test('deleteRecordsBefore moves the log start, deletes whole segments and survives reopen', async () => {
  await withTempDir(async (dir) => {
    const size = makeBatch('d', 2).length;
    const config = testConfig({ segmentBytes: size * 2 });
    let log = await PartitionLog.open(dir, config, options);
    for (let index = 0; index < 6; index++) await log.append(makeBatch('d', 2), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 4, 8]);
    assert.equal(await log.deleteRecordsBefore(5), 5);
    assert.deepEqual(log.segmentBaseOffsets(), [4, 8], 'the segment holding offset 5 stays');
    assert.equal(await log.deleteRecordsBefore(3), 5, 'the log start never moves back');
    await assert.rejects(log.read(4, 1000, 100), OffsetOutOfRangeError);
    const fromStart = await log.read(5, 1, 100);
    assert.equal(new RecordBatchView(fromStart.records, 0).baseOffset, 4, 'the batch holding the start offset is served whole');
    await assert.rejects(log.deleteRecordsBefore(13), OffsetOutOfRangeError);
    await log.close();
    log = await PartitionLog.open(dir, config, options);
    assert.equal(log.logStartOffset, 5);
    assert.equal(log.logEndOffset, 12);
    await log.close();
  });
});

test('offsetForTimestamp finds the first record at or after a timestamp', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 700, indexIntervalBytes: 100 }), options);
    // Batch i holds 3 records stamped 10_000*i + 0, 1, 2; batch 7 is stamped out of order (old).
    for (let index = 0; index < 20; index++) {
      const timestamp = index === 7 ? 5 : 10_000 * index;
      await log.append(makeBatch(`ts${index}`, 3, { timestamp }), 0);
    }
    assert.ok(log.segmentBaseOffsets().length > 2);
    assert.deepEqual(await log.offsetForTimestamp(0), { offset: 0, timestamp: 0 });
    assert.deepEqual(await log.offsetForTimestamp(50_001), { offset: 16, timestamp: 50_001 });
    assert.deepEqual(await log.offsetForTimestamp(60_003), { offset: 24, timestamp: 80_000 }, 'batch 7 (old stamps) is skipped');
    assert.deepEqual(await log.offsetForTimestamp(190_002), { offset: 59, timestamp: 190_002 });
    assert.equal(await log.offsetForTimestamp(190_003), null);
    await log.deleteRecordsBefore(31);
    assert.deepEqual(await log.offsetForTimestamp(0), { offset: 31, timestamp: 100_001 }, 'nothing below the log start');
    await log.close();
  });
});

test('maxTimestampOffset finds the first record with the largest timestamp below a bound', async () => {
  await withTempDir(async (dir) => {
    const config = testConfig({ segmentBytes: makeBatch('mx0', 2).length * 2, indexIntervalBytes: 100 });
    let log = await PartitionLog.open(dir, config, options);
    assert.equal(await log.maxTimestampOffset(), null);
    const stamps = [50, 10, 900, 20, 900, 30, 40, 5000, 60];
    for (const [index, timestamp] of stamps.entries()) await log.append(makeBatch(`mx${index}`, 2, { timestamp }), 0);
    assert.ok(log.segmentBaseOffsets().length > 2);
    assert.deepEqual(await log.maxTimestampOffset(), { offset: 15, timestamp: 5001 });
    assert.deepEqual(await log.maxTimestampOffset(14), { offset: 5, timestamp: 901 }, 'the first of two equal maxima, below the bound');
    await log.close();
    log = await PartitionLog.open(dir, config, options);
    assert.deepEqual(await log.maxTimestampOffset(14), { offset: 5, timestamp: 901 }, 'the same after reopening');
    await log.deleteRecordsBefore(6);
    assert.deepEqual(await log.maxTimestampOffset(14), { offset: 9, timestamp: 901 });
    await log.close();
  });
});

test('a reopened log holds the same bytes, offsets, epochs and keeps appending', async () => {
  await withTempDir(async (dir) => {
    const config = testConfig({ segmentBytes: 2000 });
    let log = await PartitionLog.open(dir, config, options);
    const written: Buffer[] = [];
    for (let index = 0; index < 40; index++) {
      const batch = makeBatch(`r${index}`, 2);
      await log.append(batch, index < 20 ? 1 : 4);
      written.push(batch);
    }
    const segments = log.segmentBaseOffsets();
    await log.close();
    await assert.rejects(log.append(makeBatch('late'), 4), StorageError);
    log = await PartitionLog.open(dir, config, options);
    assert.equal(log.logEndOffset, 80);
    assert.equal(log.flushedOffset, 80);
    assert.deepEqual(log.segmentBaseOffsets(), segments);
    assert.deepEqual(log.epochEntries(), [{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 40 }]);
    const read = await readAllBatches(log);
    assert.deepEqual(read.map((view) => Buffer.from(view.bytes())), written);
    const next = await log.append(makeBatch('after'), 4);
    assert.equal(next.baseOffset, 80);
    assert.deepEqual(await log.offsetForTimestamp(1_700_000_000_001), { offset: 1, timestamp: 1_700_000_000_001 });
    await log.close();
  });
});

test('with few index slots in memory, reads over many old segments still work', async () => {
  await withTempDir(async (dir) => {
    const config = testConfig({ segmentBytes: 600, indexIntervalBytes: 64 });
    let log = await PartitionLog.open(dir, config, options);
    for (let index = 0; index < 60; index++) await log.append(makeBatch(`m${index}`, 2), 0);
    await log.close();
    log = await PartitionLog.open(dir, config, { ...options, maxLoadedInactiveIndexes: 1 });
    for (const offset of [117, 3, 64, 0, 99, 31]) {
      const { records } = await log.read(offset, 1, 1000);
      const view = new RecordBatchView(records, 0);
      assert.ok(view.baseOffset <= offset && offset <= view.lastOffset, `offset ${offset}`);
      assert.equal(decodeBatchRecordsSync(view)[0]!.value!.toString(), `m${Math.floor(offset / 2)}:0`);
    }
    await log.close();
  });
});

test('truncateTo cuts whole batches, drops later segments and epochs, and appends continue there', async () => {
  await withTempDir(async (dir) => {
    const config = testConfig({ segmentBytes: 500, indexIntervalBytes: 100 });
    let log = await PartitionLog.open(dir, config, options);
    for (let index = 0; index < 30; index++) await log.append(makeBatch(`u${index}`, 2, { timestamp: 1000 + index }), index < 15 ? 2 : 3);
    assert.ok(log.segmentBaseOffsets().length > 3);
    await log.truncateTo(33); // offset 33 sits in batch [32, 33]: that batch goes too
    assert.equal(log.logEndOffset, 32);
    assert.equal(log.readableEndOffset, 32);
    assert.ok(log.flushedOffset <= 32);
    assert.deepEqual(log.epochEntries(), [{ epoch: 2, startOffset: 0 }, { epoch: 3, startOffset: 30 }]);
    assert.ok(log.segmentBaseOffsets().every((base) => base <= 32));
    assert.equal((await readAllBatches(log)).length, 16);
    assert.equal(await log.offsetForTimestamp(1017), null, 'timestamps past the cut are gone');
    await log.truncateTo(30);
    assert.deepEqual(log.epochEntries(), [{ epoch: 2, startOffset: 0 }]);
    assert.deepEqual(log.endOffsetForEpoch(2), { epoch: 2, endOffset: 30 });
    const next = await log.append(makeBatch('new', 1), 5);
    assert.equal(next.baseOffset, 30);
    await log.close();
    log = await PartitionLog.open(dir, config, options);
    assert.equal(log.logEndOffset, 31);
    const views = await readAllBatches(log);
    assert.equal(views.length, 16);
    assert.equal(decodeBatchRecordsSync(views.at(-1)!)[0]!.value!.toString(), 'new:0');
    await log.close();
  });
});

test('truncateTo below the log start empties the log and restarts it there', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 300 }), options);
    for (let index = 0; index < 10; index++) await log.append(makeBatch('e', 1), 1);
    await log.deleteRecordsBefore(6);
    await log.truncateTo(4);
    assert.equal(log.logStartOffset, 4);
    assert.equal(log.logEndOffset, 4);
    assert.deepEqual(log.segmentBaseOffsets(), [4]);
    assert.deepEqual(log.epochEntries(), []);
    assert.equal((await log.append(makeBatch('e'), 2)).baseOffset, 4);
    await log.close();
  });
});

test('restartAt past the log end (a follower behind its leader\'s log start) empties the log durably and starts it there', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 300 }), options);
    for (let index = 0; index < 10; index++) await log.append(makeBatch('e', 1), 1);
    await assert.rejects(log.restartAt(9), StorageError, 'never below the end: that would drop records the leader still has');
    await log.restartAt(50);
    assert.deepEqual([log.logStartOffset, log.logEndOffset, log.flushedOffset], [50, 50, 50]);
    assert.deepEqual(log.segmentBaseOffsets(), [50]);
    assert.deepEqual(log.epochEntries(), []);
    assert.equal((await log.append(makeBatch('after'), 3)).baseOffset, 50);
    await log.close();
    const reopened = await PartitionLog.open(dir, testConfig({ segmentBytes: 300 }), options);
    assert.deepEqual([reopened.logStartOffset, reopened.logEndOffset], [50, 51]);
    assert.deepEqual((await readAllBatches(reopened)).map((view) => view.baseOffset), [50]);
    await reopened.close();
  });
});

test('follower appends keep the leader offsets and epochs and refuse going backwards', async () => {
  await withTempDir(async (leaderDir) => {
    await withTempDir(async (followerDir) => {
      const leader = await PartitionLog.open(leaderDir, testConfig({ segmentBytes: 800 }), options);
      const follower = await PartitionLog.open(followerDir, testConfig({ segmentBytes: 800 }), options);
      for (let index = 0; index < 12; index++) await leader.append(makeBatch(`f${index}`, 3), index < 6 ? 7 : 9);
      let offset = 0;
      for (let round = 0; round < 100 && offset < leader.logEndOffset; round++) {
        const { records, nextOffset } = await leader.read(offset, 700, leader.logEndOffset);
        const result = await follower.appendReplicated(Buffer.from(records));
        assert.equal(result.lastOffset, nextOffset - 1);
        offset = nextOffset;
      }
      assert.equal(follower.logEndOffset, 36);
      assert.deepEqual(follower.epochEntries(), leader.epochEntries());
      assert.deepEqual((await readAllBatches(follower)).map((view) => Buffer.from(view.bytes())), (await readAllBatches(leader)).map((view) => Buffer.from(view.bytes())));
      const again = await leader.read(30, 100, 36);
      await assert.rejects(follower.appendReplicated(Buffer.from(again.records)), StorageError);
      const damaged = Buffer.from(again.records);
      damaged[damaged.length - 1]! ^= 1;
      damaged.writeInt32BE(0, 0);
      damaged.writeInt32BE(40, 4); // offset 40: past the end, but the CRC is broken
      await assert.rejects(follower.appendReplicated(damaged), (err: unknown) => err instanceof StorageError && err.kafkaErrorCode === 2);
      await leader.close();
      await follower.close();
    });
  });
});

test('endOffsetForEpoch answers as Kafka does', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig(), options);
    for (const epoch of [1, 1, 3, 3, 5]) await log.append(makeBatch('p', 2), epoch);
    assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 4 });
    assert.deepEqual(log.endOffsetForEpoch(2), { epoch: 1, endOffset: 4 });
    assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 8 });
    assert.deepEqual(log.endOffsetForEpoch(5), { epoch: 5, endOffset: 10 });
    assert.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 0 });
    assert.deepEqual(log.endOffsetForEpoch(6), { epoch: -1, endOffset: -1 });
    const checkpoint = await readFile(join(dir, 'leader-epoch-checkpoint'), 'utf8');
    assert.equal(checkpoint, '0\n3\n1 0\n3 4\n5 8\n');
    await log.close();
  });
});

test('LogAppendTime topics stamp each batch with the broker clock', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ messageTimestampType: 'LogAppendTime' }), { ...options, now: () => 1_234_567 });
    const result = await log.append(makeBatch('l', 2, { timestamp: 5 }), 0);
    assert.equal(result.logAppendTimeMs, 1_234_567);
    const { records } = await log.read(0, 1000, 10);
    const view = new RecordBatchView(records, 0);
    assert.equal(view.isLogAppendTime, true);
    assert.equal(view.isCrcValid(), true);
    assert.deepEqual(decodeBatchRecordsSync(view).map((record) => record.timestamp), [1_234_567, 1_234_567]);
    await log.close();
  });
});

test('append refuses bytes that are not whole v2 batches', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig(), options);
    await assert.rejects(log.append(Buffer.alloc(0), 0), StorageError);
    await assert.rejects(log.append(makeBatch('x').subarray(0, 40), 0), StorageError);
    assert.equal(log.logEndOffset, 0);
    const ok = await log.append(buildRecordBatchSync({ records: [{ value: 'fine' }] }), 0);
    assert.equal(ok.baseOffset, 0);
    await log.close();
  });
});
