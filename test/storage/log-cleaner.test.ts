// Proves log compaction on real files: after a pass only the latest record of each key remains
// below the cleaned point, at its original offset; tombstones stay until delete.retention.ms has
// passed and then go; the active segment is never touched; an idempotent producer's last batch
// keeps its header so producer state rebuilt from the compacted log matches the original; a
// crash that left `.cleaned` or `.swap` files recovers to a consistent log; and (fast-check) for
// random key/value/tombstone sequences the compacted log equals a model map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { cleanLog, CLEANER_CHECKPOINT_FILE } from '../../src/storage/log-cleaner.ts';
import { planCompaction, groupSegments } from '../../src/storage/compaction-plan.ts';
import { PartitionProducerState } from '../../src/coordinator/producer-state.ts';
import { buildRecordBatchSync, decodeBatchRecordsSync, type DecodedRecord } from '../../src/protocol/records.ts';
import type { LogConfig } from '../../src/storage/log-config.ts';
import type { RecordBatchView } from '../../src/protocol/record-batch.ts';
import { silentLogger } from '../../src/util/log.ts';
import { propertyParams, readAllBatches, testConfig, withTempDir } from './helpers.ts';

const options = { logger: silentLogger };
const baseTimestampMs = 1_700_000_000_000;
const compactConfig = (overrides: Partial<LogConfig> = {}): Partial<LogConfig> => testConfig({
  segmentBytes: 1200, indexIntervalBytes: 128, cleanupPolicy: { delete: false, compact: true }, deleteRetentionMs: 60_000, ...overrides,
});

interface Write { key: string; value: string | null; producer?: { id: number; epoch: number; sequence: number } }

function batchOf(write: Write, timestampMs = baseTimestampMs): Buffer {
  return buildRecordBatchSync({
    timestamp: timestampMs,
    records: [{ key: write.key, value: write.value, timestamp: timestampMs }],
    producerId: write.producer?.id,
    producerEpoch: write.producer?.epoch,
    baseSequence: write.producer?.sequence,
  });
}

async function appendAll(log: PartitionLog, writes: readonly Write[]): Promise<number[]> {
  const offsets: number[] = [];
  for (const write of writes) offsets.push((await log.append(batchOf(write), 0)).baseOffset);
  return offsets;
}

function recordsOf(batches: readonly RecordBatchView[]): DecodedRecord[] {
  return batches.flatMap((batch) => decodeBatchRecordsSync(batch));
}

async function readRecords(log: PartitionLog): Promise<DecodedRecord[]> {
  return recordsOf(await readAllBatches(log));
}

const text = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString('utf8'));

async function activeSegmentBytes(log: PartitionLog): Promise<Buffer> {
  const base = log.segmentBaseOffsets().at(-1)!;
  return readFile(join(log.dir, `${String(base).padStart(20, '0')}.log`));
}

test('many updates of few keys: one record per key remains below the cleaned point, at its original offset; the active segment is untouched', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, compactConfig(), options);
    const writes: Write[] = Array.from({ length: 300 }, (_, index) => ({ key: `k${index % 5}`, value: `v${index}` }));
    const offsets = await appendAll(log, writes);
    const activeBefore = await activeSegmentBytes(log);
    const segmentsBefore = log.segmentBaseOffsets().length;
    const sizeBefore = log.sizeBytes();

    const result = await cleanLog(log, { logger: silentLogger, nowMs: baseTimestampMs });
    assert.equal(result.cleaned, true);
    const cleanedUpTo = result.firstDirtyOffset;
    assert.equal(cleanedUpTo, log.segmentBaseOffsets().at(-1), 'everything below the active segment was cleaned');
    assert.ok(log.sizeBytes() < sizeBefore / 2, `log shrank (${sizeBefore} -> ${log.sizeBytes()})`);
    assert.equal(log.segmentBaseOffsets().length, segmentsBefore, 'groups are sized by their bytes before cleaning (as in Kafka)');
    assert.deepEqual(await activeSegmentBytes(log), activeBefore);

    const records = await readRecords(log);
    const below = records.filter((record) => record.offset < cleanedUpTo);
    const latestBelow = new Map<string, number>();
    writes.forEach((write, index) => { if (offsets[index]! < cleanedUpTo) latestBelow.set(write.key, index); });
    // A key is in the dirty map only up to the cleaned point, so its latest record below it stays.
    assert.deepEqual(below.map((record) => [text(record.key), text(record.value), record.offset]),
      [...latestBelow.entries()].sort((a, b) => a[1] - b[1]).map(([key, index]) => [key, `v${index}`, offsets[index]]));
    const above = records.filter((record) => record.offset >= cleanedUpTo);
    assert.deepEqual(above.map((record) => record.offset), offsets.filter((offset) => offset >= cleanedUpTo));
    assert.equal(log.logEndOffset, 300);
    assert.equal(log.logStartOffset, 0);

    // Reads from an offset that compaction removed start at the next kept record.
    const { records: bytes } = await log.read(1, 4096, Number.MAX_SAFE_INTEGER);
    assert.ok(bytes.length > 0);
    const checkpoint = await readFile(join(dir, CLEANER_CHECKPOINT_FILE), 'utf8');
    assert.equal(checkpoint, `0\n1\n${cleanedUpTo}\n`);
    await log.close();

    const reopened = await PartitionLog.open(dir, compactConfig(), options);
    assert.deepEqual((await readRecords(reopened)).map((record) => record.offset), records.map((record) => record.offset));
    assert.equal(reopened.logEndOffset, 300);
    // A second pass finds nothing new to clean; a forced one merges the now small segments.
    assert.equal((await cleanLog(reopened, { logger: silentLogger, nowMs: baseTimestampMs })).cleaned, false);
    // (Emptied segments are aged by their file time from here on: a real clock.)
    await cleanLog(reopened, { logger: silentLogger, nowMs: Date.now() + 1000, firstDirtyOffset: 0 });
    assert.ok(reopened.segmentBaseOffsets().length < segmentsBefore / 2, `segments merged (${segmentsBefore} -> ${reopened.segmentBaseOffsets().length})`);
    assert.deepEqual((await readRecords(reopened)).map((record) => record.offset), records.map((record) => record.offset));
    await reopened.close();
  });
});

test('tombstones stay until delete.retention.ms after their segment, then go; the superseded value goes at once', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, compactConfig({ deleteRetentionMs: 1000 }), options);
    const writes: Write[] = [{ key: 'gone', value: 'first' }, { key: 'kept', value: 'x' }, { key: 'gone', value: null }];
    for (let index = 0; index < 40; index++) writes.push({ key: `filler${index % 3}`, value: `f${index}` });
    await appendAll(log, writes);

    await cleanLog(log, { logger: silentLogger, nowMs: baseTimestampMs + 500 });
    let records = await readRecords(log);
    assert.deepEqual(records.filter((record) => text(record.key) === 'gone').map((record) => [record.offset, text(record.value)]), [[2, null]]);
    assert.ok(records.some((record) => text(record.key) === 'kept'));

    // Later, a pass over the same segments drops the tombstone (its segment is past the horizon).
    await cleanLog(log, { logger: silentLogger, nowMs: baseTimestampMs + 5000, firstDirtyOffset: 0 });
    records = await readRecords(log);
    assert.equal(records.filter((record) => text(record.key) === 'gone').length, 0);
    assert.deepEqual(records.filter((record) => text(record.key) === 'kept').map((record) => record.offset), [1]);
    await log.close();
  });
});

test('an idempotent producer keeps its last batch header, so producer state rebuilt from the compacted log matches', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, compactConfig(), options);
    const writes: Write[] = [];
    const sequences = new Map<number, number>();
    for (let index = 0; index < 60; index++) {
      const id = index < 40 ? 100 + (index % 2) : 100;
      const sequence = sequences.get(id) ?? 0;
      sequences.set(id, sequence + 1);
      // Producer 101's last write is at index 39; its key is overwritten later by producer 100.
      writes.push({ key: `k${index % 3}`, value: `v${index}`, producer: { id, epoch: 3, sequence } });
    }
    for (let index = 0; index < 20; index++) writes.push({ key: `k${index % 3}`, value: `plain${index}` });
    await appendAll(log, writes);
    const original = replayState(await readAllBatches(log));

    await cleanLog(log, {
      logger: silentLogger,
      nowMs: baseTimestampMs,
      force: true,
      isLastBatchOfProducer: (producerId, lastOffset) => original.entry(producerId)?.batches.at(-1)?.lastOffset === lastOffset,
    });
    const batches = await readAllBatches(log);
    const empty = batches.filter((batch) => batch.recordCount === 0);
    assert.ok(empty.length >= 1, 'an emptied last batch stayed as a header');
    for (const batch of empty) assert.ok(batch.producerId === 100 || batch.producerId === 101);
    assert.ok(batches.length < writes.length, 'other emptied batches were dropped');
    const rebuilt = replayState(batches);
    for (const id of [100, 101]) {
      const before = original.entry(id)!;
      const after = rebuilt.entry(id)!;
      assert.equal(after.producerEpoch, before.producerEpoch);
      assert.deepEqual(after.batches.at(-1), before.batches.at(-1), `producer ${id}`);
    }
    await log.close();
  });
});

function replayState(batches: readonly RecordBatchView[]): PartitionProducerState {
  const state = new PartitionProducerState();
  for (const view of batches) {
    state.applyLogBatch({
      baseOffset: view.baseOffset, lastOffsetDelta: view.lastOffsetDelta, producerId: view.producerId, producerEpoch: view.producerEpoch,
      baseSequence: view.baseSequence, maxTimestamp: view.maxTimestamp, isTransactional: view.isTransactional, isControl: view.isControl,
    });
  }
  return state;
}

test('a crash that left .cleaned or .swap files recovers to a consistent log', async () => {
  await withTempDir(async (root) => {
    const writes: Write[] = Array.from({ length: 200 }, (_, index) => ({ key: `k${index % 4}`, value: `v${index}` }));
    const crashed = join(root, 'crashed');
    const reference = join(root, 'reference');
    const original = await PartitionLog.open(crashed, compactConfig(), options);
    const cleaned = await PartitionLog.open(reference, compactConfig(), options);
    await appendAll(original, writes);
    await appendAll(cleaned, writes);
    const originalRecords = await readRecords(original);
    await cleanLog(cleaned, { logger: silentLogger, nowMs: baseTimestampMs });
    await cleanLog(cleaned, { logger: silentLogger, nowMs: baseTimestampMs, firstDirtyOffset: 0 });
    const cleanedBases = cleaned.segmentBaseOffsets();
    const cleanedRecords = await readRecords(cleaned);
    await original.close();
    await cleaned.close();
    assert.ok(cleanedBases.length >= 2);

    // Interrupted before the commit: an unfinished .cleaned file is discarded, nothing changes.
    await writeFile(join(crashed, '00000000000000000000.log.cleaned'), Buffer.from('half a segment'));
    let log = await PartitionLog.open(crashed, compactConfig(), options);
    assert.ok(!(await readdir(crashed)).some((name) => name.endsWith('.cleaned')));
    assert.deepEqual((await readRecords(log)).map((record) => record.offset), originalRecords.map((record) => record.offset));
    await log.close();

    // Interrupted after the commit (the swap file exists, one replaced segment already deleted):
    // recovery finishes the swap.
    const end = cleanedBases[1]!;
    await copyFile(join(reference, '00000000000000000000.log'), join(crashed, `00000000000000000000.${String(end).padStart(20, '0')}.log.swap`));
    const replacedLater = (await readdir(crashed)).filter((name) => /^\d{20}\.log$/.test(name) && Number(name.slice(0, 20)) > 0 && Number(name.slice(0, 20)) < end);
    assert.ok(replacedLater.length >= 1, 'the first cleaned segment merged several');
    await unlink(join(crashed, replacedLater[0]!));
    log = await PartitionLog.open(crashed, compactConfig(), options);
    assert.ok(!(await readdir(crashed)).some((name) => name.endsWith('.swap')));
    const recovered = await readRecords(log);
    const summarize = (records: DecodedRecord[]) => records.map((record) => [record.offset, text(record.key), text(record.value)]);
    assert.deepEqual(summarize(recovered.filter((record) => record.offset < end)), summarize(cleanedRecords.filter((record) => record.offset < end)));
    assert.deepEqual(summarize(recovered.filter((record) => record.offset >= end)), summarize(originalRecords.filter((record) => record.offset >= end)));
    assert.equal(log.logEndOffset, 200);
    // The recovered log compacts further like any other.
    await cleanLog(log, { logger: silentLogger, nowMs: baseTimestampMs, firstDirtyOffset: 0 });
    assert.deepEqual(summarize(await readRecords(log)), summarize(cleanedRecords));
    await log.close();
  });
});

test('appends, rolls and reads while passes run concurrently lose nothing; the in-memory log matches the reopened one', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, compactConfig({ segmentBytes: 2048 }), options);
    let appending = true;
    let highWatermark = 0;
    let passes = 0;
    const cleaner = (async () => {
      let firstDirtyOffset: number | undefined;
      // Bounded by the appends below: stops once they are done.
      while (appending) {
        const result = await cleanLog(log, { logger: silentLogger, nowMs: baseTimestampMs, highWatermark, firstDirtyOffset, force: true });
        if (result.cleaned) firstDirtyOffset = result.firstDirtyOffset;
        passes++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    // Runs of updates to six keys, then runs of unique keys that must all survive.
    const unique: number[] = [];
    for (let index = 0; index < 1200; index++) {
      const hot = index % 200 < 120;
      const { baseOffset } = await log.append(batchOf({ key: hot ? `k${index % 6}` : `u${index}`, value: hot ? 'short' : 'x'.repeat(80) }), 0);
      if (!hot) unique.push(baseOffset);
      highWatermark = baseOffset + 1;
    }
    appending = false;
    await cleaner;
    assert.ok(passes > 1);
    const offsets = new Set((await readRecords(log)).map((record) => record.offset));
    assert.deepEqual(unique.filter((offset) => !offsets.has(offset)), [], 'no unique record is missing');
    const inMemory = (await readRecords(log)).map((record) => record.offset);
    await log.close();
    const reopened = await PartitionLog.open(dir, compactConfig({ segmentBytes: 2048 }), options);
    assert.deepEqual((await readRecords(reopened)).map((record) => record.offset), inMemory);
    await reopened.close();
  });
});

test('the plan stops at the high watermark, the minimum compaction lag and the active segment; groups fit the segment size', () => {
  const segments = [0, 10, 20, 30, 40].map((baseOffset, index) => ({ baseOffset, sizeBytes: 100, newestTimestampMs: 1000 + index * 100 }));
  assert.equal(planCompaction({ segments, firstDirtyOffset: 0, highWatermark: 1000, nowMs: 5000, minCompactionLagMs: 0 }).cleanableCount, 4);
  assert.equal(planCompaction({ segments, firstDirtyOffset: 0, highWatermark: 25, nowMs: 5000, minCompactionLagMs: 0 }).cleanableCount, 2);
  assert.equal(planCompaction({ segments, firstDirtyOffset: 0, highWatermark: 1000, nowMs: 1150, minCompactionLagMs: 0 }).cleanableCount, 2);
  assert.equal(planCompaction({ segments, firstDirtyOffset: 0, highWatermark: 1000, nowMs: 5000, minCompactionLagMs: 3850 }).cleanableCount, 2);
  const plan = planCompaction({ segments, firstDirtyOffset: 20, highWatermark: 1000, nowMs: 5000, minCompactionLagMs: 0 });
  assert.deepEqual([plan.firstDirtyIndex, plan.cleanBytes, plan.dirtyBytes, plan.dirtyRatio], [2, 200, 200, 0.5]);
  assert.deepEqual(groupSegments(segments, 4, 250), [[0, 1], [2, 3]]);
  assert.deepEqual(groupSegments(segments, 4, 50), [[0], [1], [2], [3]]);
});

test('property: below the cleaned point the compacted log equals a model map of the latest record per key', async () => {
  const write = fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), value: fc.option(fc.string({ maxLength: 30 }), { freq: 4 }) });
  await fc.assert(fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 120 }), fc.boolean(), async (writes, tombstonesExpired) => {
    await withTempDir(async (dir) => {
      const log = await PartitionLog.open(dir, compactConfig({ segmentBytes: 1100, deleteRetentionMs: 1000 }), options);
      const offsets = await appendAll(log, writes);
      const before = await readRecords(log);
      const result = await cleanLog(log, { logger: silentLogger, nowMs: baseTimestampMs + (tombstonesExpired ? 10_000 : 0), force: true });
      const cleanedUpTo = result.cleaned ? result.firstDirtyOffset : 0;
      const model = new Map<string, { offset: number; value: string | null }>();
      writes.forEach((entry, index) => { if (offsets[index]! < cleanedUpTo) model.set(entry.key, { offset: offsets[index]!, value: entry.value }); });
      const expected = [...model.entries()]
        .filter(([, latest]) => !(tombstonesExpired && latest.value === null))
        .sort((a, b) => a[1].offset - b[1].offset)
        .map(([key, latest]) => [latest.offset, key, latest.value]);
      const after = await readRecords(log);
      assert.deepEqual(after.filter((record) => record.offset < cleanedUpTo).map((record) => [record.offset, text(record.key), text(record.value)]), expected);
      const summarize = (records: DecodedRecord[]) => records.filter((record) => record.offset >= cleanedUpTo).map((record) => [record.offset, text(record.value)]);
      assert.deepEqual(summarize(after), summarize(before));
      assert.equal(log.logEndOffset, writes.length);
      await log.close();
    });
  }), propertyParams(40));
});
