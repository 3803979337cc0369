// Proves the LogWriter's durability contract with fdatasync running beside the write queue:
// writes go on while an fdatasync runs; a flush op or a flush=sync write resolves only after an
// fdatasync that STARTED after it was written; waiters arriving during one fdatasync share the
// next (group commit); tasks never overlap an fdatasync; a failed fdatasync rejects its waiters
// and everything after it, and the writer refuses new ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { LogWriter, type WriterHost } from '../../src/storage/log-writer.ts';
import { Segment } from '../../src/storage/segment.ts';
import { withTempDir } from './helpers.ts';

interface PendingSync {
  /** Bytes in the file when this fdatasync started (what it covers). */
  coversBytes: number;
  finish: (err?: Error) => void;
}

/** A host whose fdatasyncs stay pending until the test finishes them. */
function controlledHost(segment: Segment, syncEveryWrite: boolean) {
  const syncs: PendingSync[] = [];
  const failures: Error[] = [];
  let syncsRunning = 0;
  let maxSyncsRunning = 0;
  const host: WriterHost = {
    onWritten: () => {},
    syncEveryWrite: () => syncEveryWrite,
    fsyncWritten: () => {
      const coversBytes = segment.writtenBytes;
      syncsRunning++;
      maxSyncsRunning = Math.max(maxSyncsRunning, syncsRunning);
      return new Promise<void>((resolve, reject) => {
        syncs.push({
          coversBytes,
          finish: (err) => {
            syncsRunning--;
            if (err) reject(err);
            else resolve();
          },
        });
      });
    },
    onFailure: (err) => failures.push(err),
  };
  return { host, syncs, failures, running: () => syncsRunning, maxRunning: () => maxSyncsRunning };
}

async function openSegment(dir: string): Promise<Segment> {
  const segment = new Segment(dir, 0, Date.now());
  await segment.createFile();
  return segment;
}

/** Lets queued I/O callbacks and timers run (bounded number of turns). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 2000 && !condition(); turn++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.ok(condition(), `timed out waiting for: ${what}`);
}

function tracked<T>(promise: Promise<T>) {
  const state = { settled: false, error: null as Error | null };
  promise.then(() => { state.settled = true; }, (err: Error) => { state.settled = true; state.error = err; });
  return state;
}

test('writes are issued and acknowledged while an fdatasync is still running (flush=async)', async () => {
  await withTempDir(async (dir) => {
    const segment = await openSegment(dir);
    const control = controlledHost(segment, false);
    const writer = new LogWriter(control.host);
    await writer.write(segment, Buffer.from('aaaa'), 1);
    const flush = tracked(writer.flush());
    await until(() => control.syncs.length === 1, 'the fdatasync starts');
    // The fdatasync is pending; a later write must not wait for it.
    await writer.write(segment, Buffer.from('bbbb'), 2);
    assert.equal(segment.writtenBytes, 8);
    assert.equal((await readFile(segment.logPath)).toString(), 'aaaabbbb');
    assert.equal(flush.settled, false, 'the flush waits for its fdatasync');
    control.syncs[0]!.finish();
    await until(() => flush.settled, 'the flush resolves');
    assert.equal(flush.error, null);
    assert.equal(control.syncs[0]!.coversBytes, 4, 'the fdatasync covered what was written before the flush');
    await segment.close();
  });
});

test('flush=sync: a write resolves only after an fdatasync that started after it was written; later writers share the next one', async () => {
  await withTempDir(async (dir) => {
    const segment = await openSegment(dir);
    const control = controlledHost(segment, true);
    const writer = new LogWriter(control.host);
    const first = tracked(writer.write(segment, Buffer.alloc(100, 1), 1));
    await until(() => control.syncs.length === 1, 'the first fdatasync starts');
    assert.equal(control.syncs[0]!.coversBytes, 100);
    // Written while the first fdatasync runs: not covered by it.
    const later = Array.from({ length: 5 }, (_, index) => tracked(writer.write(segment, Buffer.alloc(10, 2), 2 + index)));
    await until(() => segment.writtenBytes === 150, 'the later writes reach the file during the fdatasync');
    assert.equal(control.syncs.length, 1, 'one fdatasync at a time');
    control.syncs[0]!.finish();
    await until(() => first.settled, 'the first write resolves');
    assert.ok(later.every((write) => !write.settled), 'later writes wait for an fdatasync that covers them');
    await until(() => control.syncs.length === 2, 'the second fdatasync starts');
    assert.equal(control.syncs[1]!.coversBytes, 150, 'one fdatasync covers all five later writes');
    control.syncs[1]!.finish();
    await until(() => later.every((write) => write.settled), 'the later writes resolve');
    assert.ok(later.every((write) => write.error === null));
    assert.equal(control.maxRunning(), 1);
    await segment.close();
  });
});

test('a task waits for the running fdatasync and never overlaps it', async () => {
  await withTempDir(async (dir) => {
    const segment = await openSegment(dir);
    const control = controlledHost(segment, false);
    const writer = new LogWriter(control.host);
    await writer.write(segment, Buffer.from('x'), 1);
    void writer.flush();
    await until(() => control.syncs.length === 1, 'the fdatasync starts');
    let syncsRunningInTask = -1;
    const task = tracked(writer.task(async () => { syncsRunningInTask = control.running(); }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(task.settled, false, 'the task waits for the fdatasync');
    control.syncs[0]!.finish();
    await until(() => task.settled, 'the task runs');
    assert.equal(syncsRunningInTask, 0);
    await segment.close();
  });
});

test('a failed fdatasync rejects its waiters and every later op, and the writer refuses new ones', async () => {
  await withTempDir(async (dir) => {
    const segment = await openSegment(dir);
    const control = controlledHost(segment, true);
    const writer = new LogWriter(control.host);
    const first = tracked(writer.write(segment, Buffer.from('a'), 1));
    await until(() => control.syncs.length === 1, 'the fdatasync starts');
    const second = tracked(writer.write(segment, Buffer.from('b'), 2));
    await until(() => segment.writtenBytes === 2, 'the second write reaches the file');
    control.syncs[0]!.finish(new Error('EIO'));
    await until(() => first.settled && second.settled, 'both writes settle');
    assert.equal(first.error?.message, 'EIO');
    assert.equal(second.error?.message, 'EIO', 'a write waiting for durability is never acknowledged after a failed fdatasync');
    assert.equal(control.failures.length, 1);
    await assert.rejects(writer.write(segment, Buffer.from('c'), 3), /EIO/);
    await assert.rejects(writer.flush(), /EIO/);
    await segment.close();
  });
});
