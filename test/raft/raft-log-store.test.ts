// Proves the file-backed Raft store keeps what persist() acknowledged across reopen (entries, hard
// state, snapshot), overwrites uncommitted suffixes, compacts after a snapshot, cuts a torn tail
// (partial record or bad CRC) at the first damaged record, drops a log left over from before a
// snapshot install, and refuses to start on a damaged hard-state file or lost committed entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftLogStore, RaftStoreCorruptionError, hardStateFileName, logFileName } from '../../src/raft/raft-log-store.ts';
import type { Entry } from '../../src/raft/core/types.ts';

const confState = { voters: [1, 2, 3], learners: [] };
const encoder = new TextEncoder();

function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, data: encoder.encode(text) };
}

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'tide-raft-store-'));
  try {
    await body(join(directory, '__cluster_metadata-0'));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function reopen(store: RaftLogStore, directory: string): Promise<RaftLogStore> {
  await store.close();
  return RaftLogStore.open({ directory, confState });
}

function allEntries(store: RaftLogStore): Entry[] {
  const storage = store.storage;
  if (storage.lastIndex() < storage.firstIndex()) return [];
  return storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
}

test('entries and hard state survive a reopen', async () => {
  await withDirectory(async (directory) => {
    let store = await RaftLogStore.open({ directory, confState });
    assert.deepEqual(store.storage.initialState().hardState, { term: 0, vote: 0, commit: 0 });
    await store.persist({ entries: [entry(1, 1), entry(2, 1)], hardState: { term: 1, vote: 2, commit: 1 } });
    await store.persist({ entries: [entry(3, 1)], hardState: { term: 1, vote: 2, commit: 3 } });
    store = await reopen(store, directory);
    assert.deepEqual(allEntries(store), [entry(1, 1), entry(2, 1), entry(3, 1)]);
    assert.deepEqual(store.storage.initialState().hardState, { term: 1, vote: 2, commit: 3 });
    assert.equal(store.recovery.tornTailBytes, 0);
    await store.close();
  });
});

test('appending at an existing index replaces the uncommitted suffix on disk', async () => {
  await withDirectory(async (directory) => {
    let store = await RaftLogStore.open({ directory, confState });
    await store.persist({ entries: [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)], hardState: { term: 1, vote: 1, commit: 1 } });
    await store.persist({ entries: [entry(3, 2, 'new3')], hardState: { term: 2, vote: 3, commit: 1 } });
    assert.deepEqual(allEntries(store), [entry(1, 1), entry(2, 1), entry(3, 2, 'new3')]);
    store = await reopen(store, directory);
    assert.deepEqual(allEntries(store), [entry(1, 1), entry(2, 1), entry(3, 2, 'new3')]);
    await store.close();
  });
});

test('a torn tail (partial record, then a bad CRC) is cut at the first damaged record', async () => {
  await withDirectory(async (directory) => {
    let store = await RaftLogStore.open({ directory, confState });
    await store.persist({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: { term: 1, vote: 1, commit: 2 } });
    await store.close();
    const logPath = join(directory, logFileName);
    const size = (await stat(logPath)).size;
    await truncate(logPath, size - 3); // the last append was cut short by a crash
    store = await RaftLogStore.open({ directory, confState });
    assert.deepEqual(allEntries(store), [entry(1, 1), entry(2, 1)]);
    assert.ok(store.recovery.tornTailBytes > 0);
    assert.equal((await stat(logPath)).size, 2 * (8 + 16 + 2), 'the file was cut after the two intact records');
    await store.persist({ entries: [entry(3, 1, 'again')] });
    await store.close();

    // Flip a byte inside entry 3's payload: its CRC fails, entries 1-2 remain.
    const bytes = await readFile(logPath);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0xff;
    await writeFile(logPath, bytes);
    store = await RaftLogStore.open({ directory, confState });
    assert.deepEqual(allEntries(store), [entry(1, 1), entry(2, 1)]);
    await store.persist({ entries: [entry(3, 1, 'third time')] });
    store = await reopen(store, directory);
    assert.deepEqual(allEntries(store), [entry(1, 1), entry(2, 1), entry(3, 1, 'third time')]);
    assert.equal(store.recovery.tornTailBytes, 0, 'the cut was made durable');
    await store.close();
  });
});

test('garbage after the last record is a torn tail too', async () => {
  await withDirectory(async (directory) => {
    let store = await RaftLogStore.open({ directory, confState });
    await store.persist({ entries: [entry(1, 1)], hardState: { term: 1, vote: 1, commit: 1 } });
    await store.close();
    await appendFile(join(directory, logFileName), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5]));
    store = await RaftLogStore.open({ directory, confState });
    assert.deepEqual(allEntries(store), [entry(1, 1)]);
    assert.equal(store.recovery.tornTailBytes, 9);
    await store.close();
  });
});

test('snapshots compact the log and survive a reopen', async () => {
  await withDirectory(async (directory) => {
    let store = await RaftLogStore.open({ directory, confState });
    const entries = Array.from({ length: 10 }, (_, offset) => entry(offset + 1, 1));
    await store.persist({ entries, hardState: { term: 1, vote: 1, commit: 10 } });
    const snapshot = await store.saveSnapshot(8, encoder.encode('state@8'), confState, 2);
    assert.deepEqual(snapshot.metadata, { index: 8, term: 1, confState });
    assert.equal(store.storage.firstIndex(), 7, 'two entries kept before the snapshot');
    store = await reopen(store, directory);
    assert.deepEqual(store.storage.snapshot(), snapshot);
    assert.equal(store.storage.firstIndex(), 9, 'after a restart the log starts after the snapshot');
    assert.deepEqual(allEntries(store), [entry(9, 1), entry(10, 1)]);
    await store.persist({ entries: [entry(11, 1)] });
    store = await reopen(store, directory);
    assert.deepEqual(allEntries(store), [entry(9, 1), entry(10, 1), entry(11, 1)]);
    await store.close();
  });
});

test('a snapshot from the leader replaces the log; a crash before the log was replaced drops the old log', async () => {
  await withDirectory(async (directory) => {
    let store = await RaftLogStore.open({ directory, confState });
    await store.persist({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: { term: 1, vote: 1, commit: 1 } });
    const fromLeader = { metadata: { index: 20, term: 3, confState }, data: encoder.encode('leader state') };
    await store.persist({ snapshot: fromLeader, entries: [entry(21, 3)], hardState: { term: 3, vote: 0, commit: 20 } });
    assert.equal(store.storage.firstIndex(), 21);
    store = await reopen(store, directory);
    assert.deepEqual(allEntries(store), [entry(21, 3)]);
    assert.equal(store.storage.snapshot().metadata.index, 20);
    await store.close();
  });
  await withDirectory(async (directory) => {
    // Simulate the crash window: the snapshot file is new, the log still holds another history.
    let store = await RaftLogStore.open({ directory, confState });
    await store.persist({ entries: [entry(1, 1), entry(2, 1), entry(3, 2)], hardState: { term: 2, vote: 1, commit: 1 } });
    await store.saveSnapshot(1, encoder.encode('s1'), confState, 0);
    await store.close();
    const oldLog = await readFile(join(directory, logFileName));
    store = await RaftLogStore.open({ directory, confState });
    await store.persist({ snapshot: { metadata: { index: 2, term: 4, confState }, data: encoder.encode('s2') }, entries: [], hardState: { term: 4, vote: 0, commit: 2 } });
    await store.close();
    await writeFile(join(directory, logFileName), oldLog);
    store = await RaftLogStore.open({ directory, confState });
    assert.equal(store.storage.snapshot().metadata.index, 2);
    assert.deepEqual(allEntries(store), [], 'entries of another history (2/1 at the snapshot 2/4) are dropped');
    assert.ok(store.recovery.entriesDropped > 0);
    await store.close();
  });
});

test('a damaged hard-state file or missing committed entries stop the store from opening', async () => {
  await withDirectory(async (directory) => {
    const store = await RaftLogStore.open({ directory, confState });
    await store.persist({ entries: [entry(1, 1), entry(2, 1)], hardState: { term: 1, vote: 1, commit: 2 } });
    await store.close();
    const hardStatePath = join(directory, hardStateFileName);
    const good = await readFile(hardStatePath);
    const bad = Buffer.from(good);
    bad[5] = bad[5]! ^ 1;
    await writeFile(hardStatePath, bad);
    await assert.rejects(RaftLogStore.open({ directory, confState }), RaftStoreCorruptionError);
    await writeFile(hardStatePath, good);
    await truncate(join(directory, logFileName), 10); // committed entries gone
    await assert.rejects(RaftLogStore.open({ directory, confState }), /committed entries are missing/);
  });
});
