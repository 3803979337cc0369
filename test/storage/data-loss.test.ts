// Proves what a partition log says about data it lost (the input to "leave the ISR" in a cluster):
// recovery's DataLoss after a clean close followed by damage, after a crash with a torn final
// write (flush=sync: none; flush=async: always) or with a corrupt batch that has data after it;
// a read that meets a bit flip recovery did not scan reports the damage once with the first
// offset it cannot serve, never returns the bad batch, and truncating there clears it; an fsync
// failure fails the log and is reported to the host, and nothing is acknowledged after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { crcCoveredPosition, corruptFile } from '../../src/chaos/disk-faults.ts';
import { PartitionLog, type LogDamage } from '../../src/storage/partition-log.ts';
import { StorageError } from '../../src/storage/errors.ts';
import { CLEAN_SHUTDOWN_FILE } from '../../src/storage/recovery.ts';
import { segmentFileName } from '../../src/storage/segment.ts';
import { silentLogger } from '../../src/util/log.ts';
import { iterateBatches } from '../../src/protocol/record-batch.ts';
import { makeBatch, readAllBatches, testConfig, withTempDir } from './helpers.ts';

const batchCount = 40;

async function fill(dir: string, flush: 'sync' | 'async'): Promise<PartitionLog> {
  const log = await PartitionLog.open(dir, testConfig({ flush }), { logger: silentLogger });
  for (let index = 0; index < batchCount; index++) await log.append(makeBatch(`b${index}`, 2, { valueBytes: 100 }), 1);
  return log;
}

const segmentPath = (dir: string) => join(dir, segmentFileName(0, '.log'));

test('a clean close followed by a truncated segment is lost data; an untouched one is not', async () => {
  await withTempDir(async (dir) => {
    await (await fill(dir, 'sync')).close();
    const intact = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger });
    assert.equal(intact.recoveryLoss, null);
    assert.equal(intact.logEndOffset, batchCount * 2);
    await intact.close();
    const size = (await stat(segmentPath(dir))).size;
    corruptFile(segmentPath(dir), 'truncate', size - 50);
    const damaged = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger });
    assert.equal(damaged.logEndOffset, batchCount * 2 - 2);
    assert.deepEqual(damaged.recoveryLoss?.fromOffset, batchCount * 2 - 2);
    assert.equal(damaged.recoveryLoss?.unflushedOnly, false, 'shorter than the clean close left it: damage');
    await damaged.close();
  });
});

test('a partition created just now lost nothing, whatever its flush mode; reopened after a crash with flush=async it may have', async () => {
  await withTempDir(async (dir) => {
    const created = await PartitionLog.open(dir, testConfig({ flush: 'async' }), { logger: silentLogger });
    assert.equal(created.recoveryLoss, null, 'a brand-new partition must not leave the ISR it was just given');
    await created.append(makeBatch('only', 1, { valueBytes: 10 }), 1);
    await created.close();
    await rm(join(dir, CLEAN_SHUTDOWN_FILE)); // as if the process had died
    const reopened = await PartitionLog.open(dir, testConfig({ flush: 'async' }), { logger: silentLogger });
    assert.notEqual(reopened.recoveryLoss, null);
    assert.equal(reopened.recoveryLoss?.unflushedOnly, true, 'only what flush=async may not have flushed');
    await reopened.close();
  });
});

test('after a crash: a torn final write is no loss with flush=sync, a loss with flush=async; a corrupt batch with data after it always is', async () => {
  for (const flush of ['sync', 'async'] as const) {
    await withTempDir(async (dir) => {
      const log = await fill(dir, flush);
      await log.close();
      await rm(join(dir, CLEAN_SHUTDOWN_FILE)); // as if the process had died
      const size = (await stat(segmentPath(dir))).size;
      await truncate(segmentPath(dir), size - 30);
      const reopened = await PartitionLog.open(dir, testConfig({ flush }), { logger: silentLogger });
      assert.equal(reopened.logEndOffset, batchCount * 2 - 2);
      if (flush === 'sync') assert.equal(reopened.recoveryLoss, null, 'a torn final write was never acknowledged with flush=sync');
      else assert.deepEqual([reopened.recoveryLoss?.fromOffset, reopened.recoveryLoss?.unflushedOnly], [batchCount * 2 - 2, true]);
      await reopened.close();
    });
  }
  await withTempDir(async (dir) => {
    await (await fill(dir, 'sync')).close();
    await rm(join(dir, CLEAN_SHUTDOWN_FILE));
    const position = crcCoveredPosition(segmentPath(dir), 0.5)!;
    corruptFile(segmentPath(dir), 'bitflip', position, 3);
    const reopened = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger });
    assert.ok(reopened.logEndOffset < batchCount * 2);
    assert.equal(reopened.recoveryLoss?.fromOffset, reopened.logEndOffset);
    assert.equal(reopened.recoveryLoss?.unflushedOnly, false, 'a corrupt batch is damage');
    await reopened.close();
  });
});

test('a read meeting a bit flip recovery did not scan reports the damage once, serves nothing past it, and truncation repairs it', async () => {
  await withTempDir(async (dir) => {
    await (await fill(dir, 'sync')).close();
    // An early batch: after a clean close recovery only scans the tail from the last index entry.
    const position = crcCoveredPosition(segmentPath(dir), 0.1)!;
    corruptFile(segmentPath(dir), 'bitflip', position, 5);
    const log = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger });
    assert.equal(log.recoveryLoss, null);
    const damages: LogDamage[] = [];
    log.onDamage = (damage) => damages.push(damage);
    const badBase = batchCount * 2 * 0.1; // batch 4 of 40, two records each
    const first = await log.read(0, 1024 * 1024, Number.MAX_SAFE_INTEGER);
    assert.equal(first.nextOffset, badBase, 'the read stops before the damaged batch');
    assert.equal([...iterateBatches(first.records)].length, badBase / 2);
    await assert.rejects(log.read(badBase, 1024 * 1024, Number.MAX_SAFE_INTEGER), (error: unknown) => error instanceof StorageError && error.kafkaErrorCode === 56);
    for (let round = 0; round < 100 && damages.length === 0; round++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(damages.length, 1, 'one report for one damage');
    assert.equal(damages[0]!.fromOffset, badBase);
    assert.equal(log.damage?.fromOffset, badBase);
    await log.truncateTo(badBase);
    assert.equal(log.damage, null);
    assert.equal(log.logEndOffset, badBase);
    await log.append(makeBatch('after-repair', 1), 2);
    const after = await readAllBatches(log, 0, 1024 * 1024);
    assert.equal(after.length, badBase / 2 + 1);
    await log.close();
  });
});

test('a failed fsync fails the log, is reported to the host, and acknowledges nothing', async () => {
  await withTempDir(async (dir) => {
    let failing = false;
    const failures: Error[] = [];
    const log = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), {
      logger: silentLogger,
      onFsync: () => {
        if (!failing) return;
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' });
      },
      onFsyncFailure: (error) => failures.push(error),
    });
    await log.append(makeBatch('durable', 1), 1);
    failing = true;
    await assert.rejects(log.append(makeBatch('not-durable', 1), 1));
    assert.equal(failures.length, 1);
    failing = false;
    await assert.rejects(log.append(makeBatch('refused', 1), 1), (error: unknown) => error instanceof StorageError && error.kafkaErrorCode === 56, 'no retry: the log stays failed');
    await log.close();
    const reopened = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger });
    const values = (await readAllBatches(reopened, 0, 1024 * 1024)).length;
    assert.ok(values >= 1, 'what was acknowledged is there');
    await reopened.close();
  });
});
