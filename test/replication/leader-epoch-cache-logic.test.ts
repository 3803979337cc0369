// Proves EpochHistory, the I/O-free copy of the storage layer's leader-epoch cache, keeps the same
// rules: for random sequences of assign / truncate operations both hold the same entries and give
// the same OffsetForLeaderEpoch answers (KIP-101/279), and epochAt finds the epoch that wrote an offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.ts';
import { EpochHistory, UNDEFINED_EPOCH } from '../../src/replication/leader-epoch-cache-logic.ts';

const operation = fc.oneof(
  fc.record({ kind: fc.constant('assign' as const), epoch: fc.integer({ min: -1, max: 30 }), offset: fc.integer({ min: -1, max: 200 }) }),
  fc.record({ kind: fc.constant('truncate' as const), offset: fc.integer({ min: 0, max: 200 }) }),
);

test('EpochHistory behaves exactly like the storage LeaderEpochCache', () => {
  fc.assert(fc.property(fc.array(operation, { maxLength: 40 }), fc.integer({ min: -1, max: 32 }), (operations, asked) => {
    const storage = new LeaderEpochCache();
    const history = new EpochHistory();
    for (const op of operations) {
      if (op.kind === 'assign') assert.equal(history.assign(op.epoch, op.offset), storage.assign(op.epoch, op.offset));
      else assert.equal(history.truncateFromEnd(op.offset), storage.truncateFromEnd(op.offset));
    }
    assert.deepEqual(history.list(), storage.list());
    assert.equal(history.latestEpoch(), storage.latestEpoch());
    assert.deepEqual(history.endOffsetForEpoch(asked, 250), storage.endOffsetForEpoch(asked, 250));
  }));
});

test('OffsetForLeaderEpoch answers: latest epoch ends at the log end, older ones where the next begins', () => {
  const history = new EpochHistory([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }, { epoch: 4, startOffset: 15 }]);
  assert.deepEqual(history.endOffsetForEpoch(4, 20), { epoch: 4, endOffset: 20 });
  assert.deepEqual(history.endOffsetForEpoch(3, 20), { epoch: 3, endOffset: 15 });
  // KIP-279: an epoch this replica never had is answered with the largest one below it.
  assert.deepEqual(history.endOffsetForEpoch(2, 20), { epoch: 1, endOffset: 10 });
  assert.deepEqual(history.endOffsetForEpoch(0, 20), { epoch: 0, endOffset: 0 });
  assert.deepEqual(history.endOffsetForEpoch(5, 20), { epoch: UNDEFINED_EPOCH, endOffset: -1 });
  assert.equal(history.epochAt(9), 1);
  assert.equal(history.epochAt(10), 3);
  assert.equal(history.startOffsetOf(4), 15);
});

test('an out-of-order history is refused when loaded', () => {
  assert.throws(() => new EpochHistory([{ epoch: 2, startOffset: 5 }, { epoch: 1, startOffset: 9 }]), /out of order/);
});
