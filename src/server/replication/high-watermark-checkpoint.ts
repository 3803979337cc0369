// `replication-offset-checkpoint` in the data dir (Kafka's file of that name): the replica high
// watermark of every partition this node replicates, written every
// replica.high.watermark.checkpoint.interval.ms and at clean shutdown. A restarted node starts
// each partition's HW from it (clamped to what its log kept) instead of from the log start, so
// what was committed stays readable at once should it lead. Entries are keyed by topic id, not
// name: a topic deleted and created again under the same name never inherits an old HW (which
// could expose its new, uncommitted data).
//
// Text: "0\n<count>\n" then one "<topicId> <partition> <highWatermark>" line per partition.
import { readFileSync } from 'node:fs';
import { encodeCheckpoint, writeFileAtomic } from '../../storage/checkpoint-file.ts';
import type { Logger } from '../../util/log.ts';

export const HIGH_WATERMARK_CHECKPOINT_FILE = 'replication-offset-checkpoint';
const VERSION = 0;
const MAX_ENTRIES = 1_000_000;
const MAX_BYTES = 64 * 1024 * 1024;

export function highWatermarkKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/** Parses the file strictly; throws on anything malformed. */
export function parseHighWatermarkCheckpoint(text: string): Map<string, number> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== String(VERSION)) throw new Error(`high watermark checkpoint version "${lines[0]?.slice(0, 20)}" (expected ${VERSION})`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_ENTRIES || lines.length - 2 !== count) throw new Error(`high watermark checkpoint declares ${lines[1]?.slice(0, 20)} entries but holds ${lines.length - 2}`);
  const entries = new Map<string, number>();
  for (const line of lines.slice(2)) {
    const match = /^([0-9a-fA-F-]{1,64}) (\d{1,10}) (\d{1,16})$/.exec(line);
    const offset = Number(match?.[3]);
    if (!match || !Number.isSafeInteger(offset)) throw new Error(`high watermark checkpoint entry "${line.slice(0, 80)}" is malformed`);
    entries.set(highWatermarkKey(match[1]!, Number(match[2])), offset);
  }
  return entries;
}

export function encodeHighWatermarkCheckpoint(entries: ReadonlyMap<string, number>): string {
  const rows = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, offset]) => {
    const colon = key.lastIndexOf(':');
    return [key.slice(0, colon), key.slice(colon + 1), offset];
  });
  return encodeCheckpoint(VERSION, rows);
}

/**
 * Read once at start (synchronously: a small file, before any partition is replicated). A missing
 * file is an empty checkpoint; a damaged one is logged and ignored, which is safe: every HW then
 * starts at its log start, as if nothing local were known to be committed.
 */
export function readHighWatermarkCheckpoint(path: string, logger: Logger): Map<string, number> {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_BYTES) throw new Error(`${bytes.length} bytes, over ${MAX_BYTES}`);
    text = bytes.toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    logger.warn('ignoring unreadable high watermark checkpoint', { path, error: (error as Error).message });
    return new Map();
  }
  try {
    return parseHighWatermarkCheckpoint(text);
  } catch (error) {
    logger.warn('ignoring damaged high watermark checkpoint', { path, error: (error as Error).message });
    return new Map();
  }
}

/** Writes the checkpoint atomically (temp file, fsync, rename); one write at a time, unchanged content skipped. */
export class HighWatermarkCheckpointWriter {
  private lastWritten: string | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string, private readonly logger: Logger) {}

  write(entries: ReadonlyMap<string, number>): Promise<void> {
    const text = encodeHighWatermarkCheckpoint(entries);
    this.writing = this.writing.then(async () => {
      if (text === this.lastWritten) return;
      try {
        await writeFileAtomic(this.path, text);
        this.lastWritten = text;
      } catch (error) {
        // The next round tries again; until then a restart starts from an older (lower) HW, which is safe.
        this.logger.warn('writing the high watermark checkpoint failed', { path: this.path, error: (error as Error).message });
      }
    });
    return this.writing;
  }
}
