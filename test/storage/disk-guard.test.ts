// Proves the disk-usage guard computes the used ratio like df, refuses appends above
// disk.max.used.ratio with KAFKA_STORAGE_ERROR, caches statfs per directory, and measures real
// directories through fs.statfs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { DiskFullError, DiskGuard, diskUsedRatio, usedRatioOf, type DiskStats } from '../../src/storage/disk-guard.ts';

test('used ratio counts reserved blocks as df does', () => {
  assert.equal(usedRatioOf({ blocks: 100, bfree: 40, bavail: 30 }), 60 / 90);
  assert.equal(usedRatioOf({ blocks: 0, bfree: 0, bavail: 0 }), 1);
});

test('appends are refused above the ratio, and statfs is cached', async () => {
  let nowMs = 0;
  let calls = 0;
  let stats: DiskStats = { blocks: 100, bfree: 50, bavail: 50 };
  const guard = new DiskGuard({ maxUsedRatio: 0.9, cacheMs: 1000, now: () => nowMs, statfs: async () => { calls++; return stats; } });
  assert.equal(await guard.usedRatio('/data'), 0.5);
  guard.checkAppend('/data');
  stats = { blocks: 100, bfree: 5, bavail: 5 };
  assert.equal(await guard.usedRatio('/data'), 0.5, 'cached');
  assert.equal(calls, 1);
  nowMs = 1000;
  guard.checkAppend('/data'); // stale: answers from the cache and refreshes in the background
  assert.equal(await guard.usedRatio('/data'), 0.95);
  assert.throws(() => guard.checkAppend('/data'), (err: unknown) => err instanceof DiskFullError && err.kafkaErrorCode === 56);
  guard.setMaxUsedRatio(0.99);
  guard.checkAppend('/data');
  assert.throws(() => guard.setMaxUsedRatio(0), RangeError);
});

test('a real directory has a ratio between 0 and 1', async () => {
  const ratio = await diskUsedRatio(tmpdir());
  assert.ok(ratio >= 0 && ratio <= 1, String(ratio));
});
