// Proves the slow-disk test hook (src/chaos/slow-fsync.ts): its file's content sets the delay
// (`250` or `50-500`), no file means no delay, only segment fsyncs are slowed, the composed test
// hook passes the delay on, and a flush=sync append of a PartitionLog is not acknowledged before
// the promise its segment-fsync hook returned has settled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testFsyncHook } from '../../src/chaos/fsync-failure.ts';
import { parseDelay, SLOW_FSYNC_ENV, slowFsyncHook } from '../../src/chaos/slow-fsync.ts';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { silentLogger } from '../../src/util/log.ts';
import { makeBatch, testConfig, withTempDir } from '../storage/helpers.ts';
import { sleep } from './workload.ts';

// Longer than the hook's 100 ms re-check of its file.
const RECHECK_WAIT_MS = 250;

test('parseDelay: one value or a range of ms; anything else is no delay', () => {
  assert.deepEqual(parseDelay('250\n'), { lowMs: 250, highMs: 250 });
  assert.deepEqual(parseDelay('50-500'), { lowMs: 50, highMs: 500 });
  assert.equal(parseDelay(''), null);
  assert.equal(parseDelay('0'), null);
  assert.equal(parseDelay('500-50'), null);
  assert.equal(parseDelay('slow'), null);
});

test('the hook is off without the variable, slows only segment fsyncs while its file holds a delay', async () => {
  assert.equal(slowFsyncHook({}), undefined);
  await withTempDir(async (dir) => {
    const file = join(dir, 'slow-fsync-ms');
    const hook = slowFsyncHook({ [SLOW_FSYNC_ENV]: file })!;
    assert.equal(hook(join(dir, '00000000000000000000.log')), undefined, 'no file: no delay');
    writeFileSync(file, '1-3');
    await sleep(RECHECK_WAIT_MS);
    const pending = hook(join(dir, '00000000000000000000.log')) as unknown;
    assert.ok(pending instanceof Promise, 'a segment fsync is delayed');
    await pending;
    assert.equal(hook(join(dir, 'leader-epoch-checkpoint.tmp')), undefined, 'checkpoint fsyncs are not');
    assert.equal(hook(dir), undefined, 'directory fsyncs are not');
    const composed = testFsyncHook({ [SLOW_FSYNC_ENV]: file, TIDE_TEST_FSYNC_FAIL: join(dir, 'no-such-trigger') })!;
    const composedPending = composed(join(dir, '00000000000000000000.log')) as unknown;
    assert.ok(composedPending instanceof Promise, 'the composed test hook returns the delay');
    await composedPending;
    rmSync(file);
    await sleep(RECHECK_WAIT_MS);
    assert.equal(hook(join(dir, '00000000000000000000.log')), undefined, 'file removed: no delay');
  });
});

test('flush=sync: an append is acknowledged only after its segment-fsync hook has settled', async () => {
  await withTempDir(async (dir) => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let segmentFsyncs = 0;
    let armed = false; // recovery at open fsyncs the segment too (without waiting on the hook)
    let gated = false;
    const onFsync = (path: string) => {
      if (!armed || !path.endsWith('.log') || gated) return undefined;
      segmentFsyncs++;
      gated = true;
      return gate;
    };
    const log = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger, onFsync: onFsync as (path: string) => void });
    armed = true;
    let acknowledged = false;
    const append = log.append(makeBatch('slow', 2), 0).then((result) => { acknowledged = true; return result; });
    // Bounded: the fsync happens within milliseconds; 2,000 polls of 5 ms is only a hang guard.
    for (let poll = 0; poll < 2000 && segmentFsyncs === 0; poll++) await sleep(5);
    assert.equal(segmentFsyncs, 1, 'the append fsynced the segment');
    await sleep(50);
    assert.equal(acknowledged, false, 'not acknowledged while the fsync hook is pending');
    assert.equal(log.flushedOffset, 0);
    release();
    const result = await append;
    assert.ok(log.flushedOffset > result.lastOffset, 'durable once acknowledged');
    await log.close();
  });
});
