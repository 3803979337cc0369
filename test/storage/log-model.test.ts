// Proves PartitionLog against a tiny in-memory model under random sequences of appends,
// follower truncation, deleteRecordsBefore, size retention and reopening (clean, and as after a
// crash): after every step the log start and end offsets match the model and reading from the
// log start returns exactly the model's batches, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { PartitionLog } from '../../src/storage/partition-log.ts';
import { CLEAN_SHUTDOWN_FILE } from '../../src/storage/recovery.ts';
import { silentLogger } from '../../src/util/log.ts';
import { makeBatch, propertyParams, readAllBatches, testConfig, withTempDir } from './helpers.ts';

type Op =
  | { kind: 'append'; count: number; concurrent: number }
  | { kind: 'truncate'; pick: number }
  | { kind: 'truncate-at-start' }
  | { kind: 'delete-records'; pick: number }
  | { kind: 'retention' }
  | { kind: 'reopen'; crash: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 5 }), concurrent: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'truncate-at-start' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete-records' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'retention' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), crash: fc.boolean() }) },
);

interface ModelBatch { bytes: Buffer; baseOffset: number; lastOffset: number }

test('random operation sequences agree with the model', async () => {
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.constantFrom(400, 1500), async (ops, segmentBytes) => {
    await withTempDir(async (dir) => {
      const config = testConfig({ segmentBytes, indexIntervalBytes: 100, retentionBytes: 2000 });
      let log = await PartitionLog.open(dir, config, { logger: silentLogger });
      let batches: ModelBatch[] = [];
      let start = 0;
      let end = 0;
      let tag = 0;
      for (const op of ops) {
        switch (op.kind) {
          case 'append': {
            const inputs = Array.from({ length: op.concurrent }, () => makeBatch(`m${tag++}`, op.count));
            const results = await Promise.all(inputs.map((input) => log.append(input, 1)));
            results.forEach((result, index) => {
              assert.equal(result.baseOffset, end);
              batches.push({ bytes: Buffer.from(inputs[index]!), baseOffset: end, lastOffset: end + op.count - 1 });
              end += op.count;
            });
            break;
          }
          case 'truncate':
          case 'truncate-at-start': {
            const target = op.kind === 'truncate' ? op.pick % (end + 2) : start;
            await log.truncateTo(target);
            if (target >= end) break;
            if (target < start) {
              batches = [];
              start = target;
              end = target;
              break;
            }
            const firstRemoved = batches.find((batch) => batch.lastOffset >= target);
            batches = batches.filter((batch) => batch.lastOffset < target);
            end = Math.min(target, firstRemoved?.baseOffset ?? target);
            start = Math.min(start, end); // the batch straddling the log start may go too
            break;
          }
          case 'delete-records': {
            const target = op.pick % (end + 1);
            const newStart = await log.deleteRecordsBefore(target);
            start = Math.max(start, target);
            assert.equal(newStart, start);
            break;
          }
          case 'retention': {
            await log.enforceRetention(Date.now());
            // Size retention drops whole old segments; the model follows the log start.
            start = Math.max(start, log.logStartOffset);
            assert.equal(log.logStartOffset, start);
            break;
          }
          case 'reopen': {
            await log.close();
            if (op.crash) await rm(join(dir, CLEAN_SHUTDOWN_FILE));
            log = await PartitionLog.open(dir, config, { logger: silentLogger });
            break;
          }
        }
        assert.equal(log.logStartOffset, start, `start after ${op.kind}`);
        assert.equal(log.logEndOffset, end, `end after ${op.kind}`);
        const expected = batches.filter((batch) => batch.lastOffset >= start).map((batch) => batch.bytes);
        const actual = (await readAllBatches(log, start, 300)).map((view) => Buffer.from(view.bytes()));
        assert.deepEqual(actual, expected, `batches after ${op.kind}`);
      }
      await log.close();
    });
  }), propertyParams(40));
});
