// Fsync-failure test mode, node side. With TIDE_TEST_FSYNC_FAIL=<trigger file> set, every fsync a
// partition log reports (PartitionLog's onFsync hook, called right after each fsync/fdatasync of a
// segment, checkpoint or directory) throws EIO once the trigger file exists, as a disk whose
// writeback failed would make fsync(2) do. The harness creates the file to start the episode.
// Off (the variable unset): no hook, no cost.
import { existsSync } from 'node:fs';
import type { FsyncHook } from '../storage/checkpoint-file.ts';
import { powerLossFsyncHook } from './power-loss-journal.ts';
import { slowFsyncHook } from './slow-fsync.ts';

// The config loader refuses unknown TIDE_* variables but lets this one through (broker-config.ts).
export const FSYNC_FAIL_TRIGGER_ENV = 'TIDE_TEST_FSYNC_FAIL';

export function fsyncFailureHook(env: NodeJS.ProcessEnv = process.env): FsyncHook | undefined {
  const trigger = env[FSYNC_FAIL_TRIGGER_ENV];
  if (trigger === undefined || trigger === '') return undefined;
  return (path: string) => {
    if (!existsSync(trigger)) return;
    const error = new Error(`EIO: i/o error, fdatasync '${path}' (injected: ${trigger} exists)`) as NodeJS.ErrnoException;
    error.code = 'EIO';
    error.errno = -5;
    error.syscall = 'fdatasync';
    error.path = path;
    throw error;
  };
}

/**
 * The fsync hook partition logs get: the failure injection (first, so a failed fsync is never
 * journalled as durable), the power-loss journal, and the slow-disk delay (last: the only one that
 * returns a promise, which never rejects), each only when its test mode is on.
 */
export function testFsyncHook(env: NodeJS.ProcessEnv = process.env): FsyncHook | undefined {
  const hooks = [fsyncFailureHook(env), powerLossFsyncHook(env), slowFsyncHook(env)].filter((hook): hook is FsyncHook => hook !== undefined);
  if (hooks.length === 0) return undefined;
  if (hooks.length === 1) return hooks[0];
  return (path: string) => {
    let pending: unknown;
    for (const hook of hooks) pending = (hook(path) as unknown) ?? pending;
    return pending as void;
  };
}
