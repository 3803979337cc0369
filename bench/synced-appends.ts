// What the disk allows for flush=sync's write pattern, without any broker: one file per replica
// log (3 nodes x 6 partitions in (a)), each a closed loop of "append a chunk, fdatasync it", all
// at once. (a)'s nodes do just that, with a follower's fdatasync covering what one fetch brought
// (p50 509 KiB in (a)). dd's single stream with one fdatasync at the end is faster on this disk
// than many appending files that each sync: every fdatasync of a grown file also commits the
// journal. Runs in a child process so that its thread pool can be as large as the 3 nodes' together
// (4 threads each), whatever the bench process already started.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, openSync, writev } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elapsedSince, LatencyRecorder, mbPerSec, type LatencySummaryMs } from './stats.ts';

export interface SyncedAppendsOptions {
  files: number;
  chunkBytes: number;
  durationMs: number;
  threads: number;
}

export interface SyncedAppendsResult extends SyncedAppendsOptions {
  mbPerSec: number;
  fdatasyncsPerSec: number;
  /** Each append from its writev to the end of its fdatasync. */
  appendMs: LatencySummaryMs;
}

const WRITE_PIECE_BYTES = 64 * 1024;
const CHILD_TIMEOUT_MS = 120_000;

export function syncedAppendsDurationMs(quick: boolean): number {
  return quick ? 3000 : 6000;
}

/** Runs the probe in a child process (see above) in a fresh directory under parentDir. */
export function measureSyncedAppends(parentDir: string, options: SyncedAppendsOptions): Promise<SyncedAppendsResult> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', script, parentDir, JSON.stringify(options)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, UV_THREADPOOL_SIZE: String(options.threads) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(output) as SyncedAppendsResult);
      else reject(new Error(`synced-appends probe exited with ${code ?? signal}`));
    });
  });
}

async function runProbe(parentDir: string, options: SyncedAppendsOptions): Promise<SyncedAppendsResult> {
  const directory = await mkdtemp(join(parentDir, 'tide-bench-synced-'));
  const chunk = randomBytes(WRITE_PIECE_BYTES);
  const pieces = Array.from({ length: Math.max(1, Math.round(options.chunkBytes / WRITE_PIECE_BYTES)) }, () => chunk);
  const chunkBytes = pieces.length * WRITE_PIECE_BYTES;
  const fds = Array.from({ length: options.files }, (_, index) => openSync(join(directory, `log-${index}`), 'w'));
  const appendMs = new LatencyRecorder();
  const startNs = process.hrtime.bigint();
  let appends = 0;
  try {
    // Each file stops on its own once the duration is over: the loop is bounded in time.
    await Promise.all(fds.map((fd) => new Promise<void>((resolve, reject) => {
      let position = 0;
      const next = (): void => {
        if (elapsedSince(startNs) >= options.durationMs * 1e6) return resolve();
        const appendStartNs = elapsedSince(startNs);
        writev(fd, pieces, position, (writeError) => {
          if (writeError) return reject(writeError);
          position += chunkBytes;
          fdatasync(fd, (syncError) => {
            if (syncError) return reject(syncError);
            appendMs.add(elapsedSince(startNs) - appendStartNs);
            appends++;
            next();
          });
        });
      };
      next();
    })));
    const seconds = elapsedSince(startNs) / 1e9;
    return { ...options, chunkBytes, mbPerSec: mbPerSec(appends * chunkBytes, seconds), fdatasyncsPerSec: Math.round(appends / seconds), appendMs: appendMs.summary() };
  } finally {
    for (const fd of fds) closeSync(fd);
    await rm(directory, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [parentDir, optionsJson] = process.argv.slice(2);
  runProbe(parentDir!, JSON.parse(optionsJson!) as SyncedAppendsOptions).then(
    (result) => process.stdout.write(JSON.stringify(result)),
    (error: Error) => {
      process.stderr.write(`synced-appends probe failed: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
