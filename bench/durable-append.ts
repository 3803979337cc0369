// The latency floor of a durable append on this disk, without any broker: small records appended
// to one file at a fixed rate, open loop (each record is due at start + i/rate whatever happened
// before), with group-committed fdatasync as a flush=sync log does it: at most one fdatasync
// runs, it covers every record written before it started, and the next one starts as soon as it
// ends if anything new was written. A record's latency runs from when it was due to the end of
// the fdatasync that covered it, so a slow fdatasync counts for every record that waited on it.
// A replicated acks=all write needs at least this on each replica that acknowledges it.
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { elapsedSince, LatencyRecorder, type LatencySummaryMs } from './stats.ts';

export const DURABLE_APPEND_RATE_PER_SEC = 2000;
export const DURABLE_APPEND_RECORD_BYTES = 1024;

export function durableAppendDurationMs(quick: boolean): number {
  return quick ? 3000 : 8000;
}

/** An fdatasync that has not returned by then means a broken disk: give up rather than hang. */
const FDATASYNC_TIMEOUT_MS = 30_000;
/** Node's timers are ~1 ms coarse: closer to the next due time than this, poll with setImmediate. */
const TIMER_SLACK_MS = 2;

export interface DurableAppendOptions {
  ratePerSec: number;
  durationMs: number;
  recordBytes: number;
}

export interface DurableAppendResult extends DurableAppendOptions {
  appends: number;
  fdatasyncs: number;
  /** From each record's due time to the end of the fdatasync that covered it. */
  latencyMs: LatencySummaryMs;
  /** Each fdatasync alone, from its call to its callback. */
  fdatasyncMs: LatencySummaryMs;
  /** How late records were written relative to their schedule (the probe's own timer lateness). */
  writeLagMs: LatencySummaryMs;
}

export async function measureDurableAppend(parentDir: string, options: DurableAppendOptions): Promise<DurableAppendResult> {
  const directory = await mkdtemp(join(parentDir, 'tide-bench-append-'));
  const fd = openSync(join(directory, 'append.log'), 'w');
  try {
    return { ...options, ...(await appendLoop(fd, options)) };
  } finally {
    closeSync(fd);
    await rm(directory, { recursive: true, force: true });
  }
}

function appendLoop(fd: number, options: DurableAppendOptions): Promise<Omit<DurableAppendResult, keyof DurableAppendOptions>> {
  const total = Math.max(1, Math.round((options.ratePerSec * options.durationMs) / 1000));
  const intervalNs = 1e9 / options.ratePerSec;
  const record = randomBytes(options.recordBytes);
  const latency = new LatencyRecorder();
  const fdatasyncTimes = new LatencyRecorder();
  const writeLag = new LatencyRecorder();
  const startNs = process.hrtime.bigint();
  let written = 0;
  let durable = 0;
  let fdatasyncs = 0;
  let syncing = false;

  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (error: Error) => {
      failed = true;
      reject(error);
    };
    const sync = () => {
      syncing = true;
      fdatasyncs++;
      const coversUpTo = written;
      const syncStartNs = elapsedSince(startNs);
      const timeout = setTimeout(() => fail(new Error(`fdatasync did not return within ${FDATASYNC_TIMEOUT_MS} ms`)), FDATASYNC_TIMEOUT_MS);
      fdatasync(fd, (error) => {
        clearTimeout(timeout);
        syncing = false;
        if (failed) return;
        if (error) return fail(error);
        const nowNs = elapsedSince(startNs);
        fdatasyncTimes.add(nowNs - syncStartNs);
        for (; durable < coversUpTo; durable++) latency.add(nowNs - durable * intervalNs);
        if (written > durable) sync();
        else if (written === total) resolve({ appends: written, fdatasyncs, latencyMs: latency.summary(), fdatasyncMs: fdatasyncTimes.summary(), writeLagMs: writeLag.summary() });
      });
    };
    const writeDue = () => {
      if (failed) return;
      const nowNs = elapsedSince(startNs);
      try {
        // A late timer writes its whole backlog at once; the next fdatasync covers all of it.
        for (; written < total && written * intervalNs <= nowNs; written++) {
          writeSync(fd, record, 0, record.length, written * record.length);
          writeLag.add(Math.max(0, elapsedSince(startNs) - written * intervalNs));
        }
      } catch (error) {
        return fail(error as Error);
      }
      if (written > durable && !syncing) sync();
      if (written === total) return;
      const waitMs = (written * intervalNs - elapsedSince(startNs)) / 1e6;
      if (waitMs > TIMER_SLACK_MS) setTimeout(writeDue, Math.floor(waitMs - TIMER_SLACK_MS / 2));
      else setImmediate(writeDue);
    };
    writeDue();
  });
}
