// Proves ManualClock fires timers only when advanced, in due order, repeating intervals the right
// number of times and never after cancel; SystemClock's timers fire and cancel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, SystemClock } from '../../../src/io/clock.ts';

test('ManualClock fires due timers in order and honours cancel', () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  const interval = clock.setInterval(() => fired.push(`tick@${clock.nowMs()}`), 10);
  clock.setTimeout(() => fired.push(`once@${clock.nowMs()}`), 15);
  const cancelled = clock.setTimeout(() => fired.push('never'), 5);
  cancelled.cancel();
  assert.deepEqual(fired, []);
  clock.advance(25);
  assert.deepEqual(fired, ['tick@1010', 'once@1015', 'tick@1020']);
  assert.equal(clock.nowMs(), 1025);
  interval.cancel();
  clock.advance(100);
  assert.equal(fired.length, 3);
});

test('SystemClock timers fire and can be cancelled', async () => {
  // Its timers are unref'd (they must not keep a stopped node alive), so hold the loop open here.
  const keepAlive = setInterval(() => {}, 1000);
  const clock = new SystemClock();
  const start = clock.nowMs();
  let cancelledFired = false;
  clock.setTimeout(() => { cancelledFired = true; }, 1).cancel();
  await new Promise<void>((resolve) => {
    const handle = clock.setInterval(() => { handle.cancel(); resolve(); }, 1);
  });
  await new Promise<void>((resolve) => clock.setTimeout(resolve, 5));
  clearInterval(keepAlive);
  assert.equal(cancelledFired, false);
  assert.ok(clock.nowMs() >= start);
});
