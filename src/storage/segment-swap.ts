// Replacing segments with their compacted copy, crash-safely (Kafka's .cleaned/.swap scheme).
//
// 1. The cleaner writes `<base>.log.cleaned` and fdatasyncs it. A crash now leaves a `.cleaned`
//    file that recovery deletes: the old segments are untouched.
// 2. Commit point: rename it to `<base>.<end>.log.swap` and fsync the directory. The name says
//    which old segments it replaces: every segment whose base is in [base, end).
// 3. Delete the replaced segments (and the index files of `<base>`), fsync the directory, rename
//    the swap file to `<base>.log`, fsync the directory. Recovery redoes step 3 whenever a
//    `.swap` file exists, so a crash anywhere after the commit point ends with the cleaned log.
// Index files of the new segment are written after step 3; when a crash loses them they are
// missing, and recovery rebuilds missing indexes by scanning.
import { readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/log.ts';
import { fsyncDirectory, type FsyncHook } from './checkpoint-file.ts';
import { INDEX_SUFFIX, LOG_SUFFIX, parseSegmentFileName, segmentFileName, TIME_INDEX_SUFFIX } from './segment.ts';
import type { Segment } from './segment.ts';

export const CLEANED_SUFFIX = '.cleaned';
const SWAP_NAME = /^(\d{20})\.(\d{20})\.log\.swap$/;

export function cleanedLogPath(dir: string, baseOffset: number): string {
  return join(dir, segmentFileName(baseOffset, LOG_SUFFIX) + CLEANED_SUFFIX);
}

export function swapLogPath(dir: string, baseOffset: number, endOffset: number): string {
  return join(dir, `${String(baseOffset).padStart(20, '0')}.${String(endOffset).padStart(20, '0')}.log.swap`);
}

/**
 * Where `group` (consecutive segments, their sizes `groupBytes` when cleaned) still sits in
 * `segments`, inactive and unchanged; -1 when the log changed meanwhile.
 */
export function intactGroupAt(segments: readonly Segment[], group: readonly Segment[], groupBytes: readonly number[]): number {
  const first = segments.indexOf(group[0]!);
  const intact = first >= 0 && first + group.length < segments.length
    && group.every((segment, index) => segments[first + index] === segment && segment.writtenBytes === groupBytes[index]);
  return intact ? first : -1;
}

/** Step 2: the cleaned file becomes the committed replacement of segments [baseOffset, endOffset). */
export async function commitSwap(dir: string, baseOffset: number, endOffset: number, onFsync?: FsyncHook): Promise<void> {
  await rename(cleanedLogPath(dir, baseOffset), swapLogPath(dir, baseOffset, endOffset));
  await fsyncDirectory(dir, onFsync);
}

/** Step 3 (also run by recovery): old segments out, the swap file in as `<base>.log`. */
export async function completeSwap(dir: string, baseOffset: number, endOffset: number, onFsync?: FsyncHook): Promise<void> {
  const doomed: string[] = [segmentFileName(baseOffset, INDEX_SUFFIX), segmentFileName(baseOffset, TIME_INDEX_SUFFIX)];
  for (const name of await readdir(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed !== null && parsed.baseOffset > baseOffset && parsed.baseOffset < endOffset) doomed.push(name);
  }
  for (const name of doomed) await unlinkIfPresent(join(dir, name));
  await fsyncDirectory(dir, onFsync);
  await rename(swapLogPath(dir, baseOffset, endOffset), join(dir, segmentFileName(baseOffset, LOG_SUFFIX)));
  await fsyncDirectory(dir, onFsync);
}

/** At open, before segments are listed: discards uncommitted cleaning, finishes committed swaps. */
export async function finishInterruptedSwaps(dir: string, logger: Logger, onFsync?: FsyncHook): Promise<void> {
  const names = await readdir(dir);
  for (const name of names) {
    if (!name.endsWith(CLEANED_SUFFIX)) continue;
    await unlinkIfPresent(join(dir, name));
    logger.info('discarded an unfinished compaction', { dir, file: name });
  }
  const swaps = names.map((name) => SWAP_NAME.exec(name)).filter((match) => match !== null);
  swaps.sort((a, b) => Number(a[1]) - Number(b[1]));
  for (const match of swaps) {
    const baseOffset = Number(match[1]);
    const endOffset = Number(match[2]);
    await completeSwap(dir, baseOffset, endOffset, onFsync);
    logger.warn('finished an interrupted compaction swap', { dir, baseOffset, endOffset });
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
