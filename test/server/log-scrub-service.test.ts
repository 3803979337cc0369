// The scrubber on real partition logs in a temp dir: it reads an intact log to its end and counts
// every byte, and never past the high watermark it is given; it finds a bit flip in an older segment that a clean close let recovery trust, tells
// the log's damage hook the first offset it cannot serve (the replica's cue to leave the ISR and
// refetch), and skips the log until that is repaired; it is throttled to its byte rate; a log is
// scrubbed again only after the interval; an unscrubbed log this node leads goes first; stop() ends
// a scrub in progress, which does not count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { crcCoveredPosition, corruptFile, listSegmentFiles } from '../../src/chaos/disk-faults.ts';
import { PartitionLog, type LogDamage } from '../../src/storage/partition-log.ts';
import { LogScrubService, type LogScrubSettings } from '../../src/server/log-scrub-service.ts';
import { silentLogger } from '../../src/util/log.ts';
import { makeBatch, testConfig, withTempDir } from '../storage/helpers.ts';

const BATCHES = 60;
const RECORDS_PER_BATCH = 2;

/** A closed log of several small segments, reopened (a clean close: recovery scans only the tail). */
async function closedLog(dir: string): Promise<PartitionLog> {
  const config = testConfig({ flush: 'sync', segmentBytes: 4096 });
  const writer = await PartitionLog.open(dir, config, { logger: silentLogger });
  for (let index = 0; index < BATCHES; index++) await writer.append(makeBatch(`b${index}`, RECORDS_PER_BATCH, { valueBytes: 200 }), 1);
  await writer.close();
  return PartitionLog.open(dir, config, { logger: silentLogger });
}

function settings(overrides: Partial<LogScrubSettings> = {}): LogScrubSettings {
  return { enabled: true, bytesPerSecond: 64 * 1024 * 1024, intervalMs: 60_000, ...overrides };
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  // Bounded: 500 rounds of 10 ms.
  for (let round = 0; round < 500; round++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('an intact log is read to its end; every byte counted, no damage', async () => {
  await withTempDir(async (dir) => {
    const log = await closedLog(dir);
    const scrubber = new LogScrubService(settings(), () => [{ name: 't-0', log, highWatermark: log.logEndOffset, leading: false }], silentLogger);
    const outcome = await scrubber.scrub({ name: 't-0', log, highWatermark: log.logEndOffset, leading: false });
    assert.equal(outcome.damage, null);
    const segmentBytes = listSegmentFiles(dir).length;
    assert.ok(segmentBytes >= 3, `several segments (${segmentBytes})`);
    let fileBytes = 0;
    for (const path of listSegmentFiles(dir)) fileBytes += statSync(path).size;
    assert.equal(outcome.bytes, fileBytes, 'every byte of every segment was read back');
    assert.equal(log.damage, null);
    await log.close();
  });
});

test('a bit flip in an older segment is found without any other read, reported once with its offset, and the log is skipped until repaired', async () => {
  await withTempDir(async (dir) => {
    const config = testConfig({ flush: 'sync', segmentBytes: 4096 });
    await (await closedLog(dir)).close();
    const segments = listSegmentFiles(dir);
    const damagedSegment = segments[1]!;
    corruptFile(damagedSegment, 'bitflip', crcCoveredPosition(damagedSegment, 0.5)!, 3);
    const log = await PartitionLog.open(dir, config, { logger: silentLogger });
    assert.equal(log.recoveryLoss, null, 'a clean close: recovery trusted the older segment');
    const damages: LogDamage[] = [];
    log.onDamage = (damage) => damages.push(damage);

    const scrubber = new LogScrubService(settings(), () => [{ name: 't-0', log, highWatermark: log.logEndOffset, leading: false }], silentLogger);
    scrubber.start();
    try {
      const damage = await waitFor('the damage report', () => damages[0]);
      assert.ok(damage.fromOffset > 0 && damage.fromOffset < BATCHES * RECORDS_PER_BATCH, `damage inside the log (${damage.fromOffset})`);
      assert.equal(damage.fromOffset % RECORDS_PER_BATCH, 0, 'at a batch boundary');
      assert.equal(log.damage?.fromOffset, damage.fromOffset);
      // A damaged log is the replica's to repair; the scrubber leaves it alone meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(damages.length, 1, 'reported once');
      await log.truncateTo(damage.fromOffset);
      assert.equal(log.damage, null, 'cutting the log there repairs it');
    } finally {
      await scrubber.stop();
      await log.close();
    }
  });
});

test('a scrub reads committed data only: nothing at or above the high watermark', async () => {
  await withTempDir(async (dir) => {
    await (await closedLog(dir)).close();
    // Damage in the newest segment, above the high watermark the scrub is given.
    const newest = listSegmentFiles(dir).at(-1)!;
    corruptFile(newest, 'bitflip', crcCoveredPosition(newest, 0.9)!, 2);
    const log = await PartitionLog.open(dir, testConfig({ flush: 'sync', segmentBytes: 4096 }), { logger: silentLogger });
    const damages: LogDamage[] = [];
    log.onDamage = (damage) => damages.push(damage);
    const committed = { name: 't-0', log, highWatermark: 20, leading: false };
    const scrubber = new LogScrubService(settings(), () => [committed], silentLogger);
    const outcome = await scrubber.scrub(committed);
    assert.equal(outcome.damage, null, 'the damaged tail above the high watermark was not read');
    assert.ok(outcome.bytes > 0, 'the committed part was read');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(damages.length, 0);
    await log.close();
  });
});

test('a scrub keeps to its byte rate, and a log is scrubbed again only after the interval', async () => {
  await withTempDir(async (dir) => {
    const log = await closedLog(dir);
    let nowMs = 1_000_000;
    const rate = 8 * 1024;
    const scrubber = new LogScrubService(settings({ bytesPerSecond: rate, intervalMs: 10_000 }), () => [{ name: 't-0', log, highWatermark: log.logEndOffset, leading: false }], silentLogger);
    const started = performance.now();
    const outcome = await scrubber.scrub({ name: 't-0', log, highWatermark: log.logEndOffset, leading: false });
    const elapsedMs = performance.now() - started;
    // The throttle lets the first second's budget through at once, then holds to the rate.
    const floorMs = ((outcome.bytes - rate) / rate) * 1000 * 0.8;
    assert.ok(outcome.bytes > rate, `more than one second's budget to read (${outcome.bytes} bytes)`);
    assert.ok(elapsedMs >= floorMs, `throttled: ${outcome.bytes} bytes took ${elapsedMs.toFixed(0)} ms, at least ${floorMs.toFixed(0)} ms expected`);

    // Scheduling, on an injected clock: due at once when never scrubbed, then after the interval.
    const clocked = new LogScrubService(settings({ intervalMs: 10_000 }), () => [{ name: 't-0', log, highWatermark: log.logEndOffset, leading: false }], silentLogger, () => nowMs);
    const due = (clocked as unknown as { nextDue(): { partition: unknown; waitMs: number } }).nextDue.bind(clocked);
    assert.notEqual(due().partition, null, 'a log not scrubbed since it was opened is due');
    await clocked.scrub({ name: 't-0', log, highWatermark: log.logEndOffset, leading: false });
    assert.equal(due().partition, null, 'not due right after its scrub');
    assert.equal(due().waitMs, 10_000);
    nowMs += 9_999;
    assert.equal(due().partition, null);
    nowMs += 1;
    assert.notEqual(due().partition, null, 'due again once the interval has passed');
    await log.close();
  });
});

test('a log not scrubbed since it was opened goes first when this node leads it; after that the longest unchecked goes first', async () => {
  await withTempDir(async (dir) => {
    const logs = await Promise.all(['a', 'b', 'c'].map(async (name) => {
      const sub = `${dir}/${name}`;
      await mkdir(sub);
      return closedLog(sub);
    }));
    let nowMs = 1_000_000;
    const partitions = [
      { name: 'a-0', log: logs[0]!, highWatermark: logs[0]!.logEndOffset, leading: false },
      { name: 'b-0', log: logs[1]!, highWatermark: logs[1]!.logEndOffset, leading: true },
      { name: 'c-0', log: logs[2]!, highWatermark: logs[2]!.logEndOffset, leading: false },
    ];
    const scrubber = new LogScrubService(settings({ intervalMs: 10_000 }), () => partitions, silentLogger, () => nowMs);
    const due = (scrubber as unknown as { nextDue(): { partition: { name: string } | null } }).nextDue.bind(scrubber);
    assert.equal(due().partition?.name, 'b-0', 'the unscrubbed log this node leads first');
    await scrubber.scrub(partitions[1]!);
    assert.equal(due().partition?.name, 'a-0', 'then the other unscrubbed ones');
    nowMs += 1;
    await scrubber.scrub(partitions[0]!);
    nowMs += 1;
    await scrubber.scrub(partitions[2]!);
    nowMs += 10_000;
    // All due again: leading no longer counts, the one scrubbed longest ago goes first.
    assert.equal(due().partition?.name, 'b-0');
    partitions[1]!.leading = false;
    partitions[0]!.leading = true;
    assert.equal(due().partition?.name, 'b-0', 'b was scrubbed first, so it is the longest unchecked');
    for (const log of logs) await log.close();
  });
});

test('stop() ends a scrub in progress and the scrubber does not start again', async () => {
  await withTempDir(async (dir) => {
    const log = await closedLog(dir);
    let scrubs = 0;
    const scrubber = new LogScrubService(settings({ bytesPerSecond: 1024 }), () => {
      scrubs++;
      return [{ name: 't-0', log, highWatermark: log.logEndOffset, leading: false }];
    }, silentLogger);
    scrubber.start();
    await waitFor('the scrub to start', () => (scrubs > 0 ? true : undefined));
    // At 1 KiB/s the whole log takes many seconds: stop() interrupts the throttle's wait.
    await scrubber.stop();
    const due = (scrubber as unknown as { nextDue(): { partition: unknown } }).nextDue.bind(scrubber);
    assert.notEqual(due().partition, null, 'an interrupted scrub does not count as done');
    const after = scrubs;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(scrubs, after, 'no further rounds');
    await log.close();
  });
});
