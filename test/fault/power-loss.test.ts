// Proves the power-loss test mode on a real PartitionLog in this process: with the journal hook
// installed as onFsync, a simulated power cut (cutToFsyncedLengths on the files of a log that was
// never closed) keeps exactly what flush() made durable and drops the rest, including a whole
// segment that was rolled to but never fsynced (the segment rolled from was fsynced by the roll);
// the Raft metadata log is cut the same way and reopens with exactly the entries persist() made
// durable; and with the hook off (no env) nothing is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cutToFsyncedLengths, listSegmentFiles, writeDurableBaseline } from '../../src/chaos/disk-faults.ts';
import { closePowerLossJournal, POWER_LOSS_JOURNAL_ENV, powerLossFsyncHook, readJournal } from '../../src/chaos/power-loss-journal.ts';
import { appendFile } from 'node:fs/promises';
import { logFileName, RaftLogStore } from '../../src/raft/raft-log-store.ts';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { silentLogger } from '../../src/util/log.ts';
import { makeBatch, testConfig, withTempDir } from '../storage/helpers.ts';

test('without the environment variable no hook is installed', () => {
  assert.equal(powerLossFsyncHook({}), undefined);
  assert.equal(powerLossFsyncHook({ [POWER_LOSS_JOURNAL_ENV]: '' }), undefined);
});

/** A fresh journal under `root` with the hook a node in the test mode would install. */
function journalIn(root: string): { journal: string; onFsync: (path: string) => void } {
  closePowerLossJournal();
  const journal = join(root, 'journal');
  writeDurableBaseline(root, journal);
  return { journal, onFsync: powerLossFsyncHook({ [POWER_LOSS_JOURNAL_ENV]: journal })! };
}

test('a power cut keeps what was fsynced and nothing else', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 'topic-0');
    const { journal, onFsync } = journalIn(root);
    // Big batches and small segments: the unflushed tail spans a roll into a new segment.
    const config = testConfig({ flush: 'async', flushMs: 3_600_000, segmentBytes: 4096 });
    const crashed = await PartitionLog.open(dir, config, { logger: silentLogger, onFsync });
    for (let index = 0; index < 3; index++) await crashed.append(makeBatch(`durable${index}`, 1, { valueBytes: 1000 }), 0);
    await crashed.flush();
    for (let index = 0; index < 6; index++) await crashed.append(makeBatch(`volatile${index}`, 1, { valueBytes: 1000 }), 0);
    assert.ok(listSegmentFiles(dir).length >= 2, 'the appends rolled a new segment');
    // A roll fsyncs the segment it leaves, so that much of the volatile tail is durable too.
    const durableEnd = crashed.flushedOffset;
    assert.ok(durableEnd >= 3 && durableEnd < crashed.logEndOffset, `some appends are not durable (${durableEnd} of ${crashed.logEndOffset})`);
    assert.ok(readJournal(journal).size >= 1, 'fsyncs were journalled');

    const report = cutToFsyncedLengths(root, journal);
    assert.ok(report.segmentsCut >= 1 && report.bytesDropped > 0, JSON.stringify(report));
    closePowerLossJournal();
    const reopened = await PartitionLog.open(dir, config, { logger: silentLogger });
    try {
      assert.equal(reopened.logEndOffset, durableEnd, 'exactly the flushed offsets survive');
    } finally {
      await reopened.close();
    }
    // The crashed instance still holds handles; closing it now only tidies up the test.
    await crashed.close().catch(() => {});
  });
});

test('a power cut keeps the Raft metadata log up to what persist() made durable', async () => {
  await withTempDir(async (root) => {
    const directory = join(root, '__cluster_metadata-0');
    const { journal, onFsync } = journalIn(root);
    const confState = { voters: [1, 2, 3], learners: [] };
    const entry = (index: number) => ({ index, term: 1, data: new TextEncoder().encode(`e${index}`) });
    const crashed = await RaftLogStore.open({ directory, confState, onFsync });
    await crashed.persist({ entries: [entry(1), entry(2), entry(3)], hardState: { term: 1, vote: 1, commit: 3 } });
    assert.ok(readJournal(journal).has(join(directory, logFileName)), 'the metadata log is journalled');
    // Bytes that reached the file but no fsync: a power cut drops them.
    await appendFile(join(directory, logFileName), Buffer.alloc(64, 7));

    const report = cutToFsyncedLengths(root, journal);
    assert.deepEqual(report.files.map((file) => [file.path, file.fromBytes - file.toBytes]), [[join(directory, logFileName), 64]]);
    closePowerLossJournal();
    const reopened = await RaftLogStore.open({ directory, confState });
    try {
      assert.equal(reopened.recovery.tornTailBytes, 0, 'nothing torn: the cut is at a record boundary');
      assert.deepEqual([reopened.storage.firstIndex(), reopened.storage.lastIndex()], [1, 3]);
    } finally {
      await reopened.close();
      await crashed.close().catch(() => {});
    }
  });
});
