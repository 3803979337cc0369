// Shared helpers for storage tests (not a test file itself).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { iterateBatches, RecordBatchView } from '../../src/protocol/record-batch.ts';
import type { PartitionLog } from '../../src/storage/partition-log.ts';
import type { LogConfig } from '../../src/storage/log-config.ts';

export async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tide-storage-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function testConfig(overrides: Partial<LogConfig> = {}): Partial<LogConfig> {
  return { segmentBytes: 1024 * 1024, indexIntervalBytes: 256, flush: 'async', flushMs: 60_000, retentionMs: -1, retentionBytes: -1, ...overrides };
}

/** A producer-style batch (offset 0, epoch -1) with `count` records whose values name `tag`. */
export function makeBatch(tag: string, count = 1, options: { timestamp?: number; valueBytes?: number } = {}): Buffer {
  const timestamp = options.timestamp ?? 1_700_000_000_000;
  return buildRecordBatchSync({
    timestamp,
    records: Array.from({ length: count }, (_, index) => ({
      key: `${tag}-${index}`,
      value: options.valueBytes === undefined ? `${tag}:${index}` : Buffer.alloc(options.valueBytes, tag.charCodeAt(0)),
      timestamp: timestamp + index,
    })),
  });
}

/** Reads every batch from `from` to the log end, a read at a time. */
export async function readAllBatches(log: PartitionLog, from = log.logStartOffset, maxBytes = 4096): Promise<RecordBatchView[]> {
  const batches: RecordBatchView[] = [];
  let offset = from;
  // Bounded: each read advances offset, and the log has finitely many offsets.
  for (let round = 0; round < 100_000 && offset < log.readableEndOffset; round++) {
    const { records, nextOffset } = await log.read(offset, maxBytes, Number.MAX_SAFE_INTEGER);
    if (records.length === 0) break;
    batches.push(...iterateBatches(records));
    offset = nextOffset;
  }
  return batches;
}

/**
 * fast-check parameters; a failure prints its seed and path, and
 * `TIDE_FC_SEED=<seed> TIDE_FC_PATH=<path> node --import tsx --test <file>` replays it exactly.
 */
export function propertyParams(numRuns: number): { numRuns: number; seed?: number; path?: string; endOnFailure?: boolean } {
  const seed = process.env.TIDE_FC_SEED;
  if (seed === undefined) return { numRuns };
  return { numRuns, seed: Number(seed), path: process.env.TIDE_FC_PATH, endOnFailure: true };
}
