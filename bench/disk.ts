// The machine's sequential write speed, measured with dd in the directory the nodes write to,
// so produce throughput can be read as a fraction of what the disk can take:
// - buffered: 1 MiB writes, one fdatasync at the end (the ceiling for flush=async);
// - dsync 1 MiB: every write synced (what a large group commit can reach with flush=sync);
// - dsync 4 KiB: every small write synced (the cost of one fsync, as writes per second).
// - node writer: what one Node FileHandle reaches with the log's pattern (sequential writev of
//   512 KiB, fdatasync every second), the ceiling for a broker without Tide's own work.
// - durable append: the latency floor of flush=sync at a fixed rate (bench/durable-append.ts).
// Virtual disks vary a lot from run to run (host caches, burst credits), so each is run a few
// times and the median is the figure; the single runs are kept in the report.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DURABLE_APPEND_RATE_PER_SEC, DURABLE_APPEND_RECORD_BYTES, durableAppendDurationMs, measureDurableAppend, type DurableAppendResult } from './durable-append.ts';
import { mbPerSec, round } from './stats.ts';

const run = promisify(execFile);
const DD_TIMEOUT_MS = 120_000;

export interface DdResult {
  command: string;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  writesPerSec: number;
}

export interface DdSummary {
  command: string;
  /** Median run. */
  mbPerSec: number;
  writesPerSec: number;
  runsMbPerSec: number[];
}

export interface DiskReport {
  directory: string;
  buffered: DdSummary;
  dsync1MiB: DdSummary;
  dsync4KiB: DdSummary;
  nodeWriter: NodeWriterResult;
  durableAppend: DurableAppendResult;
}

export interface NodeWriterResult {
  writeBytes: number;
  flushIntervalMs: number;
  mbPerSec: number;
  fdatasyncs: number;
  fdatasyncMeanMs: number;
}

export async function measureDisk(parentDir: string, quick: boolean): Promise<DiskReport> {
  const directory = await mkdtemp(join(parentDir, 'tide-bench-dd-'));
  const file = join(directory, 'dd.out');
  try {
    const runs = quick ? 1 : 3;
    return {
      directory: parentDir,
      buffered: await repeat(runs, () => ddBuffered(file, quick ? 256 : 1024)),
      dsync1MiB: await repeat(runs, () => dd(file, '1M', quick ? 32 : 256, 'oflag=dsync')),
      dsync4KiB: await repeat(runs, () => dd(file, '4k', quick ? 500 : 2000, 'oflag=dsync')),
      nodeWriter: await nodeWriter(file, quick ? 2000 : 6000),
      durableAppend: await measureDurableAppend(directory, {
        ratePerSec: DURABLE_APPEND_RATE_PER_SEC, durationMs: durableAppendDurationMs(quick), recordBytes: DURABLE_APPEND_RECORD_BYTES,
      }),
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** One buffered dd run (1 MiB writes, one fdatasync at the end) in a directory of its own under `parentDir`. */
export async function measureBufferedWrite(parentDir: string, mib: number): Promise<DdResult> {
  const directory = await mkdtemp(join(parentDir, 'tide-bench-dd-'));
  try {
    return await ddBuffered(join(directory, 'dd.out'), mib);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function ddBuffered(file: string, mib: number): Promise<DdResult> {
  return dd(file, '1M', mib, 'conv=fdatasync');
}

const NODE_WRITE_BYTES = 512 * 1024;
const NODE_WRITE_BUFFER_BYTES = 32 * 1024;
const NODE_FLUSH_INTERVAL_MS = 1000;

async function nodeWriter(file: string, durationMs: number): Promise<NodeWriterResult> {
  await rm(file, { force: true });
  const handle = await open(file, 'w');
  const buffers = Array.from({ length: NODE_WRITE_BYTES / NODE_WRITE_BUFFER_BYTES }, () => randomBytes(NODE_WRITE_BUFFER_BYTES));
  let position = 0;
  let fdatasyncs = 0;
  let fdatasyncMs = 0;
  const startMs = performance.now();
  let lastFlushMs = startMs;
  try {
    // Bounded by the deadline: every round writes 512 KiB.
    while (performance.now() - startMs < durationMs) {
      position += (await handle.writev(buffers, position)).bytesWritten;
      if (performance.now() - lastFlushMs >= NODE_FLUSH_INTERVAL_MS) {
        const flushStartMs = performance.now();
        await handle.datasync();
        lastFlushMs = performance.now();
        fdatasyncMs += lastFlushMs - flushStartMs;
        fdatasyncs++;
      }
    }
  } finally {
    await handle.close();
  }
  return {
    writeBytes: NODE_WRITE_BYTES,
    flushIntervalMs: NODE_FLUSH_INTERVAL_MS,
    mbPerSec: mbPerSec(position, (performance.now() - startMs) / 1000),
    fdatasyncs,
    fdatasyncMeanMs: round(fdatasyncs === 0 ? 0 : fdatasyncMs / fdatasyncs, 1),
  };
}

async function repeat(runs: number, once: () => Promise<DdResult>): Promise<DdSummary> {
  const results: DdResult[] = [];
  for (let run = 0; run < runs; run++) results.push(await once());
  const sorted = [...results].sort((a, b) => a.mbPerSec - b.mbPerSec);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { command: median.command, mbPerSec: median.mbPerSec, writesPerSec: median.writesPerSec, runsMbPerSec: results.map((result) => result.mbPerSec) };
}

async function dd(file: string, blockSize: string, count: number, flag: string): Promise<DdResult> {
  const args = ['if=/dev/zero', `of=${file}`, `bs=${blockSize}`, `count=${count}`, flag];
  await rm(file, { force: true });
  const { stderr } = await run('dd', args, { timeout: DD_TIMEOUT_MS });
  // GNU dd ends with e.g. "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2.31 s, 465 MB/s".
  const match = /(\d+) bytes .*copied, ([\d.,]+) s/.exec(stderr);
  if (!match) throw new Error(`cannot read dd output: ${stderr}`);
  const bytes = Number(match[1]);
  const seconds = Number(match[2]!.replace(',', '.'));
  return { command: `dd ${args.join(' ')}`, bytes, seconds: round(seconds, 3), mbPerSec: mbPerSec(bytes, seconds), writesPerSec: Math.round(count / seconds) };
}
