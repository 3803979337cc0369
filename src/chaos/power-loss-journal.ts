// Power-loss test mode, node side. With TIDE_TEST_POWER_LOSS=<journal file> set, every fsync a
// partition log or the Raft metadata log reports (PartitionLog's and RaftLogStore's onFsync hooks)
// appends `path length` to that journal and fsyncs the journal before the hook returns, so the
// line is durable before the fsync that caused it can lead to an acknowledgement. After a SIGKILL,
// cutToFsyncedLengths (disk-faults.ts) trims every such file back to its last journalled length:
// what a machine that lost power would keep.
// The hook is told only the path, and the partition log keeps writing while a group-commit fsync
// runs, so the length at the hook may include bytes that fsync did not cover. The hook therefore
// reads the length and fdatasyncs the file itself before journalling it: the journalled length is
// always durable. (A hook given the synced length by the log would be exact and cheaper.)
// A directory fsync makes new names durable: a segment just created by a roll (still empty then,
// since the writer queues appends behind the roll) or a compacted segment renamed into place (its
// bytes fsynced under the temporary name). Segments this journal has not seen yet are recorded
// at that moment with their current length; known ones only move on their own fsyncs.
import { appendFileSync, closeSync, fdatasyncSync, fsyncSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FsyncHook } from '../storage/checkpoint-file.ts';

// The config loader refuses unknown TIDE_* variables but lets this one through (broker-config.ts).
export const POWER_LOSS_JOURNAL_ENV = 'TIDE_TEST_POWER_LOSS';

const SEGMENT_SUFFIX = '.log';
/** The Raft metadata log (`<data dir>/__cluster_metadata-0/log`), appended in place like a segment. */
const METADATA_LOG = /(^|\/)__cluster_metadata-0\/log$/;

/** Files a power cut can shorten: partition segments and the Raft metadata log (others are replaced by atomic renames). */
export function isAppendedFile(path: string): boolean {
  return /(^|\/)\d{20}\.log$/.test(path) || METADATA_LOG.test(path);
}

const MAX_JOURNAL_BYTES_READ = 64 * 1024 * 1024;

let journalFd: number | null = null;
let knownPaths: Set<string> | null = null;

/** The fsync hook for partition logs: undefined (no cost) unless the test mode is switched on. */
export function powerLossFsyncHook(env: NodeJS.ProcessEnv = process.env): FsyncHook | undefined {
  const journalPath = env[POWER_LOSS_JOURNAL_ENV];
  if (journalPath === undefined || journalPath === '') return undefined;
  return (path: string) => recordFsync(journalPath, path);
}

function recordFsync(journalPath: string, path: string): void {
  knownPaths ??= new Set(readJournal(journalPath).keys());
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    return; // a temp file already renamed away: its content lives on under the final name
  }
  const lines: string[] = [];
  const candidates = isDirectory
    ? readdirSync(path).filter((name) => name.endsWith(SEGMENT_SUFFIX)).map((name) => join(path, name)).filter((file) => !knownPaths!.has(file))
    : isAppendedFile(path) ? [path] : []; // other files are replaced by atomic renames
  for (const file of candidates) {
    try {
      lines.push(`${file} ${durableLength(file)}\n`);
      knownPaths.add(file);
    } catch {
      // deleted meanwhile: nothing to keep
    }
  }
  if (lines.length === 0) return;
  journalFd ??= openSync(journalPath, 'a');
  appendFileSync(journalFd, lines.join(''));
  fsyncSync(journalFd);
}

/** The file's current length, made durable: everything below it is fdatasynced when this returns. */
function durableLength(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const length = statSync(path).size;
    fdatasyncSync(fd);
    return length;
  } finally {
    closeSync(fd);
  }
}

/** The last journalled length of every path (later lines win). Malformed lines are skipped. */
export function readJournal(journalPath: string): Map<string, number> {
  const lengths = new Map<string, number>();
  let text: string;
  try {
    const size = statSync(journalPath).size;
    if (size > MAX_JOURNAL_BYTES_READ) throw new Error(`power-loss journal ${journalPath} is ${size} bytes, over ${MAX_JOURNAL_BYTES_READ}`);
    text = readFileSync(journalPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return lengths;
    throw err;
  }
  for (const line of text.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    const length = Number(line.slice(space + 1));
    if (Number.isSafeInteger(length) && length >= 0) lengths.set(line.slice(0, space), length);
  }
  return lengths;
}

/** For tests that switch the journal between runs in one process. */
export function closePowerLossJournal(): void {
  if (journalFd !== null) closeSync(journalFd);
  journalFd = null;
  knownPaths = null;
}
