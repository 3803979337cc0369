// Proves the acks=all flow control's bookkeeping: requests are admitted while the bytes above the
// HW (plus those admitted) stay within the limit, one request larger than the limit goes alone,
// held requests are admitted in arrival order as the HW moves and no newcomer passes them (not even
// one admitted waiter that has not appended yet), acks=0/1 bytes count without being held, expired
// waiters leave without holding up the rest, and a leadership change returns every waiter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppendBacklog } from '../../src/replication/append-backlog.ts';

const waiter = (id: number, bytes: number, deadlineMs = 1000) => ({ id, bytes, deadlineMs });

test('admits up to the limit, then holds; the HW releases held requests in order', () => {
  const backlog = new AppendBacklog(100);
  assert.ok(backlog.tryAdmit(60));
  backlog.appended(6, 60);
  assert.ok(backlog.tryAdmit(40), 'exactly at the limit');
  backlog.appended(10, 40);
  assert.equal(backlog.bytes, 100);
  assert.ok(!backlog.tryAdmit(1));
  backlog.enqueue(waiter(1, 50));
  backlog.enqueue(waiter(2, 30));
  backlog.enqueue(waiter(3, 40));
  assert.deepEqual(backlog.onHighWatermark(5), [], 'the HW is inside the first run: nothing is fetched whole yet');
  assert.deepEqual(backlog.onHighWatermark(6).map((w) => w.id), [1], '60 bytes left the backlog: 50 fit, then 30 would not');
  assert.equal(backlog.bytes, 90, 'the admitted waiter is reserved');
  assert.ok(!backlog.tryAdmit(1), 'a newcomer never passes waiters');
  backlog.started();
  backlog.appended(15, 50);
  assert.deepEqual(backlog.onHighWatermark(10).map((w) => w.id), [2], '2 fits (80), 3 would make 120');
  assert.ok(!backlog.tryAdmit(1), 'waiter 3 still waits');
  backlog.started();
  backlog.appended(18, 30);
  assert.deepEqual(backlog.onHighWatermark(18).map((w) => w.id), [3]);
  assert.ok(!backlog.tryAdmit(1), 'admitted waiter 3 has not started its append yet: no passing it');
  backlog.started();
  backlog.appended(22, 40);
  assert.ok(backlog.tryAdmit(10));
  assert.equal(backlog.waiting, 0);
});

test('a request larger than the limit goes alone once nothing is outstanding', () => {
  const backlog = new AppendBacklog(100);
  assert.ok(backlog.tryAdmit(500), 'nothing outstanding: admitted');
  backlog.appended(5, 500);
  assert.ok(!backlog.tryAdmit(1));
  backlog.enqueue(waiter(1, 500));
  assert.deepEqual(backlog.onHighWatermark(5).map((w) => w.id), [1]);
});

test('acks=0/1 bytes count but are never held; a refused append gives its bytes back', () => {
  const backlog = new AppendBacklog(100);
  backlog.reserve(80);
  backlog.appended(8, 80);
  backlog.reserve(80);
  backlog.appended(16, 80);
  assert.equal(backlog.bytes, 160);
  assert.ok(!backlog.tryAdmit(10), 'acks=all waits behind what acks=1 left for the followers');
  assert.deepEqual(backlog.onHighWatermark(16), []);
  assert.equal(backlog.bytes, 0);
  assert.ok(backlog.tryAdmit(70));
  backlog.release(70);
  assert.equal(backlog.bytes, 0);
});

test('expired waiters leave without holding up the rest; clear returns everyone and starts over', () => {
  const backlog = new AppendBacklog(10);
  assert.ok(backlog.tryAdmit(10));
  backlog.appended(1, 10);
  backlog.enqueue(waiter(1, 5, 100));
  backlog.enqueue(waiter(2, 5, 300));
  backlog.enqueue(waiter(3, 5, 200));
  assert.deepEqual(backlog.takeExpired(99), []);
  assert.deepEqual(backlog.takeExpired(200).map((w) => w.id), [1, 3]);
  assert.deepEqual(backlog.clear().map((w) => w.id), [2]);
  assert.equal(backlog.bytes, 0);
  assert.ok(backlog.tryAdmit(10), 'a new leadership starts with an empty backlog');
});

test('limit 0 never holds', () => {
  const off = new AppendBacklog(0);
  for (let offset = 1; offset <= 100; offset++) {
    assert.ok(off.tryAdmit(1_000_000));
    off.appended(offset, 1_000_000);
  }
});
