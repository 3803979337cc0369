// Proves the sparse offset and time indexes: lookups return the closest entry at or below a
// target, files round-trip, and damaged files (partial entries, entries out of order, positions
// past the log) are recognised as damaged instead of being trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OffsetIndex } from '../../src/storage/offset-index.ts';
import { TimeIndex } from '../../src/storage/time-index.ts';

test('offset index lookups find the closest entry at or below', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 200 }), fc.integer({ min: -5, max: 10_005 }), (offsets, target) => {
    const sorted = [...offsets].sort((a, b) => a - b);
    const index = new OffsetIndex();
    sorted.forEach((offset) => index.append(offset, offset * 10));
    const floor = sorted.filter((offset) => offset <= target).at(-1);
    assert.equal(index.lookup(target), floor === undefined ? 0 : floor * 10);
    const decoded = OffsetIndex.decode(index.encode(), 1_000_000)!;
    assert.equal(decoded.entryCount, sorted.length);
    assert.equal(decoded.lookup(target), index.lookup(target));
  }));
});

test('offset index refuses entries that do not increase', () => {
  const index = new OffsetIndex();
  index.append(5, 100);
  assert.throws(() => index.append(5, 200));
  assert.throws(() => index.append(6, 100));
});

test('damaged offset index files are recognised', () => {
  const index = new OffsetIndex();
  index.append(1, 100);
  index.append(3, 300);
  const good = index.encode();
  assert.ok(OffsetIndex.decode(good, 400) !== null);
  assert.equal(OffsetIndex.decode(good.subarray(0, 12), 400), null, 'partial entry');
  assert.equal(OffsetIndex.decode(good, 300), null, 'position past the log');
  const swapped = Buffer.concat([good.subarray(8), good.subarray(0, 8)]);
  assert.equal(OffsetIndex.decode(swapped, 400), null, 'out of order');
});

test('time index keeps a rising maximum and looks up the last entry strictly below', () => {
  const index = new TimeIndex();
  index.maybeAppend(-1, 0);
  index.maybeAppend(100, 2);
  index.maybeAppend(90, 5);
  index.maybeAppend(200, 8);
  assert.equal(index.entryCount, 2);
  assert.equal(index.lookup(100), -1);
  assert.equal(index.lookup(101), 2);
  assert.equal(index.lookup(1_000), 8);
  index.truncateFromRelativeOffset(8);
  assert.equal(index.lastTimestamp(), 100);
  const decoded = TimeIndex.decode(index.encode())!;
  assert.equal(decoded.lastRelativeOffset(), 2);
  assert.equal(TimeIndex.decode(Buffer.alloc(13)), null, 'partial entry');
  assert.equal(TimeIndex.decode(Buffer.alloc(24)), null, 'timestamps not rising');
});
