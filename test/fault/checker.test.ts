// Proves the fault checker finds each anomaly it names, from small synthetic histories: a clean
// history is valid, and every kind of damage (lost, unseen, duplicate, inconsistent offset, acked
// offset mismatch, unexpected, failed-but-visible, nonmonotonic and skipping polls, nonmonotonic
// sends, high watermark and committed offsets going backwards) is counted as what it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, type History, type SendRecord } from './checker.ts';

function acked(value: string, offset: number, partition = 0, producer = 'p1', sequence = offset): SendRecord {
  return { value, partition, producer, sequence, outcome: { kind: 'acked', offset } };
}

function cleanHistory(): History {
  return {
    sends: [acked('a', 0), acked('b', 1), acked('c', 2), acked('x', 0, 1, 'p2', 0)],
    reads: [
      { reader: 'drain', partition: 0, records: [{ offset: 0, value: 'a' }, { offset: 1, value: 'b' }, { offset: 2, value: 'c' }] },
      { reader: 'drain', partition: 1, records: [{ offset: 0, value: 'x' }] },
    ],
    highWatermarks: [{ partition: 0, atMs: 1, highWatermark: 1 }, { partition: 0, atMs: 2, highWatermark: 3 }],
    committedOffsets: [{ group: 'g', partition: 0, atMs: 1, offset: 1 }, { group: 'g', partition: 0, atMs: 2, offset: 2 }],
  };
}

test('a clean history is valid and counted', () => {
  const report = check(cleanHistory());
  assert.equal(report.valid, true, JSON.stringify(report));
  assert.equal(report.counts.acked, 4);
  assert.equal(report.counts.distinctValuesRead, 4);
  assert.equal(report.counts.lost, 0);
});

test('an acked value missing before a later read offset is a lost write', () => {
  const history = cleanHistory();
  history.reads[0]!.records.splice(1, 1); // b at offset 1 vanished, c at 2 still read
  const report = check(history);
  assert.equal(report.valid, false);
  assert.equal(report.counts.lost, 1);
  assert.equal(report.counts.lostWrite, 1);
  assert.equal(report.counts.unseen, 0);
  assert.equal(report.counts.pollSkip, 1, 'the reader jumped from 0 to 2');
});

test('a missing tail of acked values is lost and unseen', () => {
  const history = cleanHistory();
  history.reads[0]!.records.splice(1); // only a remains, as after a cut at a CRC failure
  const report = check(history);
  assert.equal(report.counts.lost, 2);
  assert.equal(report.counts.unseen, 2);
  assert.equal(report.counts.lostWrite, 0);
  assert.equal(report.valid, false);
});

test('one value at two offsets is a duplicate', () => {
  const history = cleanHistory();
  history.reads[0]!.records.push({ offset: 3, value: 'c' });
  const report = check(history);
  assert.equal(report.counts.duplicate, 1);
  assert.equal(report.valid, false);
});

test('one offset holding two values across reads is inconsistent', () => {
  const history = cleanHistory();
  history.reads.push({ reader: 'second', partition: 1, records: [{ offset: 0, value: 'y' }] });
  history.sends.push({ value: 'y', partition: 1, producer: 'p3', sequence: 0, outcome: { kind: 'indeterminate' } });
  const report = check(history);
  assert.equal(report.counts.inconsistentOffset, 1);
  assert.equal(report.counts.indeterminateVisible, 1);
  assert.equal(report.valid, false);
});

test('an acked offset holding another value is inconsistent, and the acked value elsewhere a mismatch', () => {
  const history = cleanHistory();
  history.sends[1] = acked('b', 1);
  history.reads[0]!.records = [{ offset: 0, value: 'a' }, { offset: 1, value: 'c' }, { offset: 2, value: 'b' }];
  const report = check(history);
  assert.ok(report.counts.inconsistentOffset >= 2, JSON.stringify(report.counts));
  assert.equal(report.counts.ackedOffsetMismatch, 2);
  assert.equal(report.valid, false);
});

test('a value nobody sent is unexpected; a definitely failed send that is visible is failedVisible', () => {
  const history = cleanHistory();
  history.reads[1]!.records.push({ offset: 1, value: 'ghost' }, { offset: 2, value: 'f' });
  history.sends.push({ value: 'f', partition: 1, producer: 'p2', sequence: 1, outcome: { kind: 'failed', error: 'NOT_ENOUGH_REPLICAS' } });
  const report = check(history);
  assert.equal(report.counts.unexpected, 1);
  assert.equal(report.counts.failedVisible, 1);
  assert.equal(report.counts.failed, 1);
  assert.equal(report.valid, false);
});

test('a read pass going backwards is a nonmonotonic poll', () => {
  const history = cleanHistory();
  history.reads[0]!.records = [{ offset: 0, value: 'a' }, { offset: 2, value: 'c' }, { offset: 1, value: 'b' }];
  const report = check(history);
  assert.equal(report.counts.nonmonotonicPoll, 1);
  assert.equal(report.counts.lost, 0);
  assert.equal(report.valid, false);
});

test('a later send of one producer acked below an earlier one is a nonmonotonic send', () => {
  const history = cleanHistory();
  history.sends = [acked('a', 0, 0, 'p1', 0), acked('c', 2, 0, 'p1', 1), acked('b', 1, 0, 'p1', 2), acked('x', 0, 1, 'p2', 0)];
  const report = check(history);
  assert.equal(report.counts.nonmonotonicSend, 1);
  assert.equal(report.valid, false);
});

test('high watermark and committed offsets going backwards are caught, per partition and group', () => {
  const history = cleanHistory();
  history.highWatermarks!.push({ partition: 0, atMs: 3, highWatermark: 2 }, { partition: 1, atMs: 3, highWatermark: 0 });
  history.committedOffsets!.push({ group: 'g', partition: 0, atMs: 3, offset: 0 }, { group: 'h', partition: 0, atMs: 3, offset: 0 });
  const report = check(history);
  assert.equal(report.counts.hwBackwards, 1);
  assert.equal(report.counts.committedBackwards, 1);
  assert.equal(report.valid, false);
});

test('a deposed leader\'s stale high watermark (older epoch) is counted apart; a new epoch going lower is caught', () => {
  const stale = check({ ...cleanHistory(), highWatermarks: [
    { partition: 0, atMs: 1, highWatermark: 5, leaderEpoch: 1 },
    { partition: 0, atMs: 2, highWatermark: 9, leaderEpoch: 2 },
    { partition: 0, atMs: 3, highWatermark: 6, leaderEpoch: 1 }, // the old leader, not told yet
    { partition: 0, atMs: 4, highWatermark: 10, leaderEpoch: 2 },
  ] });
  assert.equal(stale.counts.hwBackwards, 0, JSON.stringify(stale.examples));
  assert.equal(stale.counts.staleHighWatermarks, 1);
  const lower = check({ ...cleanHistory(), highWatermarks: [
    { partition: 0, atMs: 1, highWatermark: 5, leaderEpoch: 1 },
    { partition: 0, atMs: 2, highWatermark: 4, leaderEpoch: 2 }, // the new leader starts below what was exposed
  ] });
  assert.equal(lower.counts.hwBackwards, 1);
  assert.equal(lower.valid, false);
});

test('failed and indeterminate sends that never appear are not anomalies', () => {
  const history = cleanHistory();
  history.sends.push(
    { value: 'gone', partition: 0, producer: 'p1', sequence: 9, outcome: { kind: 'failed' } },
    { value: 'maybe', partition: 0, producer: 'p1', sequence: 10, outcome: { kind: 'indeterminate' } },
  );
  const report = check(history);
  assert.equal(report.valid, true);
  assert.equal(report.counts.failed, 1);
  assert.equal(report.counts.indeterminate, 1);
});
