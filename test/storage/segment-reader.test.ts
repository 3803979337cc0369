// Proves that a segment read checks the CRC of every batch on the bytes it serves and reads no
// file byte twice, also when the answer runs past the first read window (the window is then
// extended, not re-read), and that a batch damaged on disk past the window end is never served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { Segment } from '../../src/storage/segment.ts';
import { INDEX_MISMATCH, readSegmentBatches } from '../../src/storage/segment-reader.ts';
import { iterateBatches } from '../../src/protocol/record-batch.ts';
import { silentLogger } from '../../src/util/log.ts';
import { makeBatch, testConfig, withTempDir } from './helpers.ts';

const BATCHES = 12;

/** A one-segment log of BATCHES batches of 10 records (offsets 10*i .. 10*i+9), closed. */
async function writeLog(dir: string): Promise<void> {
  const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 1024 * 1024 }), { logger: silentLogger });
  for (let index = 0; index < BATCHES; index++) await log.append(makeBatch(`b${index}`, 10, { valueBytes: 100 }), 0);
  await log.close();
}

/** The log's only segment, with every read recorded as [start, end). */
async function openRecordingSegment(dir: string): Promise<{ segment: Segment; reads: [number, number][] }> {
  const segment = new Segment(dir, 0, Date.now());
  await segment.openExisting();
  const reads: [number, number][] = [];
  const read = segment.read.bind(segment);
  segment.read = async (position: number, length: number) => {
    const bytes = await read(position, length);
    reads.push([position, position + bytes.length]);
    return bytes;
  };
  return { segment, reads };
}

function assertNoByteReadTwice(reads: [number, number][]): void {
  const sorted = [...reads].sort((a, b) => a[0] - b[0]);
  for (let index = 1; index < sorted.length; index++) {
    assert.ok(sorted[index]![0] >= sorted[index - 1]![1], `bytes ${sorted[index]![0]}..${sorted[index - 1]![1]} were read twice`);
  }
}

test('an answer that runs past the read window is served whole, each file byte read once', async () => {
  await withTempDir(async (dir) => {
    await writeLog(dir);
    const file = await readFile((await openRecordingSegment(dir)).segment.logPath);
    const sizes = [...iterateBatches(file)].map((view) => view.sizeBytes);
    const batchBytes = sizes[0]!;
    // Start the walk at 0 (no index) for offset 30: three batches are skipped inside the first
    // window (maxBytes + 0 + header), and the answer (up to 4 batches) ends far past it.
    const { segment, reads } = await openRecordingSegment(dir);
    const result = await readSegmentBatches(segment, { position: 0, expectedOffset: null }, 30, 4 * batchBytes, Number.MAX_SAFE_INTEGER, 0);
    assert.ok(result !== null && result !== INDEX_MISMATCH);
    assert.equal(result.corruptPosition, null);
    const first = 3 * batchBytes;
    assert.ok(result.records.equals(file.subarray(first, first + 4 * batchBytes)), 'exactly batches 3..6, byte for byte');
    assert.equal(result.nextOffset, 70);
    assert.ok(reads.length > 1, 'the first window did not hold the answer (the case under test)');
    assertNoByteReadTwice(reads);
    await segment.close();
  });
});

test('a batch damaged on disk beyond the first window is never served', async () => {
  await withTempDir(async (dir) => {
    await writeLog(dir);
    const probe = await openRecordingSegment(dir);
    const file = await readFile(probe.segment.logPath);
    await probe.segment.close();
    const batchBytes = [...iterateBatches(file)][0]!.sizeBytes;
    // Flip one byte in the records of batch 5 (past the first window of the read below).
    const handle = await open(`${dir}/${'0'.repeat(20)}.log`, 'r+');
    const damagedAt = 5 * batchBytes + batchBytes - 10;
    await handle.write(Buffer.from([file[damagedAt]! ^ 0xff]), 0, 1, damagedAt);
    await handle.close();
    const { segment } = await openRecordingSegment(dir);
    const result = await readSegmentBatches(segment, { position: 0, expectedOffset: null }, 30, 6 * batchBytes, Number.MAX_SAFE_INTEGER, 0);
    assert.ok(result !== null && result !== INDEX_MISMATCH);
    assert.ok(result.records.equals(file.subarray(3 * batchBytes, 5 * batchBytes)), 'served batches 3 and 4 only');
    assert.equal(result.nextOffset, 50);
    // Reading from the damaged batch itself yields nothing servable and names its position.
    const atDamage = await readSegmentBatches(segment, { position: 0, expectedOffset: null }, 50, batchBytes, Number.MAX_SAFE_INTEGER, 0);
    assert.ok(atDamage !== null && atDamage !== INDEX_MISMATCH);
    assert.equal(atDamage.records.length, 0);
    assert.equal(atDamage.corruptPosition, 5 * batchBytes);
    await segment.close();
  });
});
