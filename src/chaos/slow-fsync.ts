// Slow-disk test mode, node side. With TIDE_TEST_SLOW_FSYNC=<file> set, a partition log's segment
// fsync (the group-commit fsync behind every flush=sync acknowledgement, and a roll's fsync of the
// sealed segment) takes longer by the delay the file holds: `250` (ms) or `50-500` (uniform per
// fsync). No file, or 0: no delay. The harness writes the file to start a slow-disk episode and
// removes it to heal. The delay is asynchronous, like a slow device behind libuv's thread pool:
// the node keeps serving, only what waits for that fsync waits longer.
// The file is looked at no more than every RECHECK_MS (a stat, re-read only when its mtime or size
// changes), so an episode starts and ends within that. Off (the variable unset): no hook, no cost.
import { readFileSync, statSync } from 'node:fs';
import type { FsyncHook } from '../storage/checkpoint-file.ts';

// The config loader refuses unknown TIDE_* variables but lets this one through (broker-config.ts).
export const SLOW_FSYNC_ENV = 'TIDE_TEST_SLOW_FSYNC';

const RECHECK_MS = 100;
const MAX_DELAY_MS = 60_000;

export interface DelayRange { lowMs: number; highMs: number }

/** `250` or `50-500` (ms); null for anything else (including an empty file: no delay). */
export function parseDelay(text: string): DelayRange | null {
  const match = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(text);
  if (match === null) return null;
  const lowMs = Math.min(Number(match[1]), MAX_DELAY_MS);
  const highMs = Math.min(Number(match[2] ?? match[1]), MAX_DELAY_MS);
  if (highMs < lowMs || highMs === 0) return null;
  return { lowMs, highMs };
}

export function slowFsyncHook(env: NodeJS.ProcessEnv = process.env): FsyncHook | undefined {
  const file = env[SLOW_FSYNC_ENV];
  if (file === undefined || file === '') return undefined;
  let checkedAtMs = -Infinity;
  let seen = '';
  let delay: DelayRange | null = null;
  const current = (): DelayRange | null => {
    const nowMs = Date.now();
    if (nowMs - checkedAtMs < RECHECK_MS) return delay;
    checkedAtMs = nowMs;
    try {
      const stats = statSync(file);
      const identity = `${stats.mtimeMs}:${stats.size}`;
      if (identity !== seen) {
        seen = identity;
        delay = parseDelay(readFileSync(file, 'utf8'));
      }
    } catch {
      seen = '';
      delay = null; // no file: a normal disk
    }
    return delay;
  };
  // FsyncHook returns void; PartitionLog awaits what its segment-fsync hook returns, so the
  // promise returned here (never rejected) delays exactly those fsyncs.
  const hook = (path: string): Promise<void> | undefined => {
    if (!path.endsWith('.log')) return undefined; // checkpoints and directories: only segment fsyncs are slowed
    const range = current();
    if (range === null) return undefined;
    // Test-only jitter, not consensus code: Math.random is fine here.
    const ms = range.lowMs + Math.floor(Math.random() * (range.highMs - range.lowMs + 1));
    return new Promise<void>((resolve) => setTimeout(resolve, ms));
  };
  return hook;
}
