import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PendingProduces, type PendingProduce } from '../../src/replication/pending-produces.ts';

test('acks=1 completes at the durable end, acks=all at the high watermark, each in arrival order', () => {
  const pending = new PendingProduces();
  pending.add({ requestId: 1, requiredOffset: 10, deadlineMs: 100, acks: -1 });
  pending.add({ requestId: 2, requiredOffset: 20, deadlineMs: 100, acks: 1 });
  pending.add({ requestId: 3, requiredOffset: 30, deadlineMs: 100, acks: -1 });
  const first = pending.takeDone(20, 9);
  assert.deepEqual(first.leader.map((p) => p.requestId), [2]);
  assert.deepEqual(first.all.map((p) => p.requestId), []);
  const second = pending.takeDone(30, 30);
  assert.deepEqual(second.all.map((p) => p.requestId), [1, 3]);
  assert.equal(pending.size, 0);
});

test('expiry and takeAll remove exactly the due entries and keep the rest in order', () => {
  const pending = new PendingProduces();
  pending.add({ requestId: 1, requiredOffset: 1, deadlineMs: 50, acks: -1 });
  pending.add({ requestId: 2, requiredOffset: 2, deadlineMs: 10, acks: -1 });
  pending.add({ requestId: 3, requiredOffset: 3, deadlineMs: 30, acks: 1 });
  assert.deepEqual(pending.takeExpired(30).map((p) => p.requestId).sort(), [2, 3]);
  assert.equal(pending.size, 1);
  assert.deepEqual(pending.takeAll().map((p) => p.requestId), [1]);
  assert.equal(pending.size, 0);
});

// Against the obvious model (scan everything on every event) over random schedules, long enough
// to pass the queue's compaction point.
test('completes the same requests as a full scan would', () => {
  type Op = { kind: 'add'; acks: 1 | -1; step: number; ttl: number } | { kind: 'done'; durableStep: number; hwLag: number } | { kind: 'tick'; advance: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), acks: fc.constantFrom(1 as const, -1 as const), step: fc.integer({ min: 0, max: 3 }), ttl: fc.integer({ min: 1, max: 500 }) }),
    fc.record({ kind: fc.constant('done' as const), durableStep: fc.integer({ min: 0, max: 5 }), hwLag: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ kind: fc.constant('tick' as const), advance: fc.integer({ min: 0, max: 50 }) }),
  );
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 3000 }), (ops) => {
    const pending = new PendingProduces();
    let model: PendingProduce[] = [];
    let nextOffset = 0;
    let durable = 0;
    let hw = 0;
    let now = 0;
    let id = 0;
    for (const o of ops) {
      if (o.kind === 'add') {
        nextOffset += o.step + 1;
        const produce = { requestId: id++, requiredOffset: nextOffset, deadlineMs: now + o.ttl, acks: o.acks };
        pending.add(produce);
        model.push(produce);
      } else if (o.kind === 'done') {
        durable = Math.min(nextOffset, durable + o.durableStep);
        hw = Math.max(hw, durable - o.hwLag);
        const got = pending.takeDone(durable, hw);
        const expected = model.filter((p) => (p.acks === 1 ? durable : hw) >= p.requiredOffset);
        model = model.filter((p) => !expected.includes(p));
        assert.deepEqual([...got.leader, ...got.all].map((p) => p.requestId).sort((a, b) => a - b), expected.map((p) => p.requestId));
      } else {
        now += o.advance;
        const got = pending.takeExpired(now);
        const expected = model.filter((p) => p.deadlineMs <= now);
        model = model.filter((p) => p.deadlineMs > now);
        assert.deepEqual(got.map((p) => p.requestId).sort((a, b) => a - b), expected.map((p) => p.requestId));
      }
      assert.equal(pending.size, model.length);
    }
  }), { numRuns: 200 });
});
