// Proves MemoryStorage behaves like the log Raft expects: appends replace conflicting suffixes,
// compaction keeps the term at the compaction point, snapshots replace the log and older ones are
// refused, and entries() respects its size limit while always returning at least one entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../../src/raft/core/storage.ts';
import type { Entry } from '../../../src/raft/core/types.ts';

const conf = { voters: [1], learners: [] };
const entry = (index: number, term: number, size = 1): Entry => ({ index, term, data: new Uint8Array(size) });

test('append extends, and replaces from the first conflicting index', () => {
  const storage = new MemoryStorage(conf);
  storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
  storage.append([entry(2, 2)]);
  assert.equal(storage.lastIndex(), 2);
  assert.equal(storage.term(2), 2);
  assert.throws(() => storage.append([entry(5, 2)]), /gap/);
});

test('compaction keeps the compaction point term and refuses reads before it', () => {
  const storage = new MemoryStorage(conf);
  storage.append([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]);
  storage.createSnapshot(3, new Uint8Array([9]), conf);
  storage.compact(3);
  assert.equal(storage.firstIndex(), 4);
  assert.equal(storage.term(3), 2);
  assert.equal(storage.term(2), undefined);
  assert.throws(() => storage.entries(3, 4, 100), /outside/);
  storage.append([entry(2, 1), entry(3, 2), entry(4, 2), entry(5, 3)]); // older part ignored
  assert.deepEqual(storage.entries(4, 6, 1000).map((e) => e.index), [4, 5]);
});

test('applySnapshot replaces the log and refuses an older snapshot', () => {
  const storage = new MemoryStorage(conf);
  storage.append([entry(1, 1), entry(2, 1)]);
  assert.equal(storage.applySnapshot({ metadata: { index: 10, term: 3, confState: conf }, data: new Uint8Array() }), true);
  assert.equal(storage.firstIndex(), 11);
  assert.equal(storage.lastIndex(), 10);
  assert.equal(storage.term(10), 3);
  assert.equal(storage.applySnapshot({ metadata: { index: 5, term: 2, confState: conf }, data: new Uint8Array() }), false);
});

test('entries() is cut by size but returns at least one entry', () => {
  const storage = new MemoryStorage(conf);
  storage.append([entry(1, 1, 100), entry(2, 1, 100), entry(3, 1, 100)]);
  assert.equal(storage.entries(1, 4, 1).length, 1);
  assert.equal(storage.entries(1, 4, 260).length, 2);
  assert.equal(storage.entries(1, 4, 10_000).length, 3);
});
