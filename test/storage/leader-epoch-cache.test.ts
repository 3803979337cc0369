// Proves the leader-epoch cache keeps epochs and start offsets strictly increasing, truncates from
// either end as the log does, and answers OffsetForLeaderEpoch exactly as Kafka does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.ts';

test('assign takes only newer epochs and replaces an epoch that wrote nothing', () => {
  const cache = new LeaderEpochCache();
  assert.equal(cache.assign(1, 0), true);
  assert.equal(cache.assign(1, 5), false, 'same epoch');
  assert.equal(cache.assign(0, 7), false, 'older epoch');
  assert.equal(cache.assign(3, 10), true);
  assert.equal(cache.assign(4, 10), true, 'epoch 3 wrote nothing');
  assert.equal(cache.assign(-1, 12), false, 'no epoch');
  assert.deepEqual(cache.list(), [{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 10 }]);
  assert.equal(cache.latestEpoch(), 4);
});

test('endOffsetForEpoch follows Kafka', () => {
  const cache = new LeaderEpochCache([{ epoch: 2, startOffset: 0 }, { epoch: 4, startOffset: 10 }, { epoch: 7, startOffset: 25 }]);
  assert.deepEqual(cache.endOffsetForEpoch(7, 40), { epoch: 7, endOffset: 40 }, 'latest: the log end');
  assert.deepEqual(cache.endOffsetForEpoch(4, 40), { epoch: 4, endOffset: 25 });
  assert.deepEqual(cache.endOffsetForEpoch(5, 40), { epoch: 4, endOffset: 25 }, 'unknown epoch between: the floor epoch');
  assert.deepEqual(cache.endOffsetForEpoch(1, 40), { epoch: 1, endOffset: 0 }, 'older than everything');
  assert.deepEqual(cache.endOffsetForEpoch(8, 40), { epoch: -1, endOffset: -1 }, 'newer than everything');
  assert.deepEqual(cache.endOffsetForEpoch(-1, 40), { epoch: -1, endOffset: -1 });
  assert.deepEqual(new LeaderEpochCache().endOffsetForEpoch(3, 40), { epoch: -1, endOffset: -1 });
});

test('truncation from the end and from the start', () => {
  const cache = new LeaderEpochCache([{ epoch: 2, startOffset: 0 }, { epoch: 4, startOffset: 10 }, { epoch: 7, startOffset: 25 }]);
  assert.equal(cache.truncateFromEnd(30), false);
  assert.equal(cache.truncateFromEnd(25), true);
  assert.deepEqual(cache.list().map((entry) => entry.epoch), [2, 4]);
  assert.equal(cache.truncateFromStart(12), true);
  assert.deepEqual(cache.list(), [{ epoch: 4, startOffset: 12 }]);
  assert.equal(cache.truncateFromStart(12), false);
});

test('the checkpoint text round-trips and out-of-order files are refused', () => {
  const cache = new LeaderEpochCache([{ epoch: 2, startOffset: 0 }, { epoch: 4, startOffset: 10 }]);
  assert.deepEqual(LeaderEpochCache.parse(cache.encode()).list(), cache.list());
  assert.throws(() => LeaderEpochCache.parse('0\n2\n4 10\n2 0\n'));
});
