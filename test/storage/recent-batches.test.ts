// The leader's in-memory copy of its recent appends (recent-batches.ts) must answer a follower's
// fetch exactly as a read from the segment would: same bytes, same next offset, same limits
// (maxBytes with at least one batch, maxOffset, readable end, one segment per answer), and must
// never outlive a truncation, so a replaced offset is never served from memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { silentLogger } from '../../src/util/log.ts';
import { makeBatch, testConfig, withTempDir } from './helpers.ts';

const options = { logger: silentLogger };

test('readForReplica answers exactly like read for every offset, byte budget and end offset', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 4000 }), options);
    const batches = Array.from({ length: 40 }, (_, index) => makeBatch(`r${index}-${'x'.repeat(index * 7)}`, 1 + (index % 3)));
    const results = await Promise.all(batches.map((batch) => log.append(batch, 0)));
    assert.ok(log.segmentBaseOffsets().length > 2, 'the appends span several segments');
    const ends = [0, 5, 17, log.logEndOffset];
    let compared = 0;
    for (const { baseOffset } of results) {
      for (const maxBytes of [1, 150, 600, 1_000_000]) {
        for (const maxOffset of ends) {
          if (maxOffset <= baseOffset) continue;
          const fromDisk = await log.read(baseOffset, maxBytes, maxOffset);
          const fromReplicaRead = await log.readForReplica(baseOffset, maxBytes, maxOffset);
          assert.deepEqual(fromReplicaRead.records, fromDisk.records, `offset ${baseOffset} maxBytes ${maxBytes} maxOffset ${maxOffset}`);
          assert.equal(fromReplicaRead.nextOffset, fromDisk.nextOffset);
          compared++;
        }
      }
    }
    assert.ok(compared > 100);
    await log.close();
  });
});

test('after a truncation and new appends at the same offsets, readForReplica serves the new batches', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig(), options);
    for (let index = 0; index < 6; index++) await log.append(makeBatch(`old${index}`, 1), 0);
    await log.truncateTo(3);
    const replacement = makeBatch('new3', 1);
    await log.append(replacement, 1);
    const read = await log.readForReplica(3, 1_000_000, log.logEndOffset);
    assert.deepEqual(read.records, replacement);
    assert.equal(read.nextOffset, 4);
    // Below the truncation point, what was kept from before is read from disk, unchanged.
    assert.deepEqual((await log.readForReplica(2, 1_000_000, 3)).records, (await log.read(2, 1_000_000, 3)).records);
    await log.close();
  });
});

test('a batch still being written is not served from memory before it is readable', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig(), options);
    await log.append(makeBatch('first', 1), 0);
    const pending = log.append(makeBatch('second', 1), 0);
    // Offsets are assigned at once; the bytes reach the file a tick later.
    assert.equal(log.logEndOffset, 2);
    const early = await log.readForReplica(1, 1_000_000, log.logEndOffset);
    assert.equal(early.records.length, 0);
    assert.equal(early.nextOffset, 1);
    await pending;
    assert.equal((await log.readForReplica(1, 1_000_000, log.logEndOffset)).nextOffset, 2);
    await log.close();
  });
});
