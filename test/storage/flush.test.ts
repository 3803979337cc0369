// Proves the flush policies: with flush=sync an append resolves only after an fdatasync that
// covers it, and appends queued together share one fdatasync (group commit: fewer fsyncs than
// appends); with flush=async appends resolve without an fsync and flush()/the timer fsync later;
// rolling fsyncs the finished segment before the next one is created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { silentLogger } from '../../src/util/log.ts';
import { makeBatch, testConfig, withTempDir } from './helpers.ts';

function fsyncRecorder() {
  const events: { path: string; flushedBefore: number }[] = [];
  const holder: { log: PartitionLog | null } = { log: null };
  const onFsync = (path: string) => events.push({ path, flushedBefore: holder.log?.flushedOffset ?? -1 });
  const logFsyncs = () => events.filter((event) => event.path.endsWith('.log')).length;
  return { events, holder, onFsync, logFsyncs };
}

test('flush=sync: every append resolves after an fdatasync covering it', async () => {
  await withTempDir(async (dir) => {
    const recorder = fsyncRecorder();
    const log = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger, onFsync: recorder.onFsync });
    recorder.holder.log = log;
    for (let index = 0; index < 5; index++) {
      const fsyncsBefore = recorder.logFsyncs();
      const result = await log.append(makeBatch(`s${index}`, 2), 0);
      assert.ok(recorder.logFsyncs() > fsyncsBefore, 'an fdatasync of the log happened during the append');
      assert.ok(log.flushedOffset > result.lastOffset, 'the appended offsets are below the flushed offset when it resolves');
    }
    await log.close();
  });
});

test('flush=sync: appends queued together share one fdatasync (group commit)', async () => {
  await withTempDir(async (dir) => {
    const recorder = fsyncRecorder();
    const log = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger, onFsync: recorder.onFsync });
    const before = recorder.logFsyncs();
    const appends = 50;
    const flushedAtResolve: boolean[] = [];
    await Promise.all(Array.from({ length: appends }, (_, index) =>
      log.append(makeBatch(`g${index}`), 0).then((result) => flushedAtResolve.push(log.flushedOffset > result.lastOffset))));
    const used = recorder.logFsyncs() - before;
    assert.ok(used >= 1 && used < appends, `${used} fsyncs for ${appends} appends`);
    assert.ok(flushedAtResolve.every(Boolean), 'each append was durable when it resolved');
    assert.equal(log.flushedOffset, appends);
    await log.close();
  });
});

test('flush=async: appends do not fsync; flush() does and moves flushedOffset to the end', async () => {
  await withTempDir(async (dir) => {
    const recorder = fsyncRecorder();
    const log = await PartitionLog.open(dir, testConfig({ flush: 'async', flushMs: 3_600_000 }), { logger: silentLogger, onFsync: recorder.onFsync });
    const before = recorder.logFsyncs();
    for (let index = 0; index < 10; index++) await log.append(makeBatch(`a${index}`), 0);
    assert.equal(recorder.logFsyncs(), before, 'no fsync on the append path');
    assert.equal(log.readableEndOffset, 10);
    assert.equal(log.flushedOffset, 0);
    await log.flush();
    assert.equal(recorder.logFsyncs(), before + 1);
    assert.equal(log.flushedOffset, 10);
    await log.flush();
    assert.equal(recorder.logFsyncs(), before + 1, 'nothing new to flush, no fsync');
    await log.close();
  });
});

test('flush=async: the flush timer fsyncs on its own', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ flush: 'async', flushMs: 20 }), { logger: silentLogger });
    await log.append(makeBatch('timer', 3), 0);
    // Bounded wait for the timer; the assertion is about eventually, not about how fast.
    for (let round = 0; round < 500 && log.flushedOffset < 3; round++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(log.flushedOffset, 3);
    await log.close();
  });
});

test('rolling fsyncs the finished segment, so the flushed offset covers it', async () => {
  await withTempDir(async (dir) => {
    const recorder = fsyncRecorder();
    const size = makeBatch('r0').length;
    const log = await PartitionLog.open(dir, testConfig({ flush: 'async', flushMs: 3_600_000, segmentBytes: size * 2 }), { logger: silentLogger, onFsync: recorder.onFsync });
    for (let index = 0; index < 3; index++) await log.append(makeBatch(`r${index}`), 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
    assert.ok(recorder.events.some((event) => event.path.endsWith('00000000000000000000.log')), 'the first segment was fsynced at roll');
    assert.ok(log.flushedOffset >= 2);
    await log.close();
  });
});

test('switching a live log from async to sync takes effect on the next append', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ flush: 'async', flushMs: 3_600_000 }), { logger: silentLogger });
    await log.append(makeBatch('before'), 0);
    assert.equal(log.flushedOffset, 0);
    log.updateConfig({ flush: 'sync' });
    const result = await log.append(makeBatch('after'), 0);
    assert.ok(log.flushedOffset > result.lastOffset);
    await log.close();
  });
});

test('flush=async: config updates arriving faster than flush.ms do not postpone the periodic flush', async () => {
  await withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, testConfig({ flush: 'async', flushMs: 200 }), { logger: silentLogger });
    await log.append(makeBatch('a', 2), 0);
    assert.equal(log.flushedOffset, 0, 'not flushed at once');
    // Metadata images (a cluster's ISR changes, registrations) reach every partition as updateConfig.
    const deadline = Date.now() + 10_000;
    while (log.flushedOffset < 2 && Date.now() < deadline) {
      log.updateConfig({ retentionMs: -1 });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(log.flushedOffset, 2, 'the timer flushed while updates kept coming');
    await log.close();
  });
});
