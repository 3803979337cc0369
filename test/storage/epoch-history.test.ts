// Proves the leader-epoch history (shared by storage and the replication core) keeps its rules: for
// random sequences of assign / truncate operations the entries stay strictly increasing, survive a
// checkpoint round trip, and give OffsetForLeaderEpoch answers (KIP-101/279) consistent with them;
// epochAt finds the epoch that wrote an offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.ts';
import { EpochHistory, UNDEFINED_EPOCH } from '../../src/storage/epoch-history.ts';

const operation = fc.oneof(
  fc.record({ kind: fc.constant('assign' as const), epoch: fc.integer({ min: -1, max: 30 }), offset: fc.integer({ min: -1, max: 200 }) }),
  fc.record({ kind: fc.constant('truncate' as const), offset: fc.integer({ min: 0, max: 200 }) }),
);

test('any sequence of assign / truncate keeps the history ordered and its answers consistent', () => {
  fc.assert(fc.property(fc.array(operation, { maxLength: 40 }), fc.integer({ min: -1, max: 32 }), (operations, asked) => {
    const cache = new LeaderEpochCache();
    for (const op of operations) {
      if (op.kind === 'assign') {
        const before = cache.list();
        const changed = cache.assign(op.epoch, op.offset);
        const latest = before.at(-1);
        const accepted = op.epoch >= 0 && op.offset >= 0 && (latest === undefined || (op.epoch > latest.epoch && op.offset >= latest.startOffset));
        assert.equal(changed, accepted);
      } else {
        cache.truncateFromEnd(op.offset);
        assert.ok(cache.list().every((entry) => entry.startOffset < op.offset));
      }
    }
    const entries = cache.list();
    for (let i = 1; i < entries.length; i++) {
      assert.ok(entries[i]!.epoch > entries[i - 1]!.epoch && entries[i]!.startOffset > entries[i - 1]!.startOffset, 'strictly increasing');
    }
    assert.deepEqual(LeaderEpochCache.parse(cache.encode()).list(), entries, 'checkpoint round trip');
    assert.deepEqual(new EpochHistory(entries).endOffsetForEpoch(asked, 250), cache.endOffsetForEpoch(asked, 250));
    const answer = cache.endOffsetForEpoch(asked, 250);
    if (answer.epoch !== UNDEFINED_EPOCH) {
      assert.ok(answer.epoch <= Math.max(asked, entries[0]!.epoch));
      assert.ok(answer.endOffset === 250 || entries.some((entry) => entry.startOffset === answer.endOffset));
    }
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
