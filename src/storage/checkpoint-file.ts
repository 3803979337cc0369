// Atomic small-file writes (temp file, fsync, rename, fsync the directory) and Kafka's text
// checkpoint format ("version\ncount\nentry...\n"). A reader sees the old content or the new,
// never a mix; leftovers of an interrupted write end in `.tmp` and are ignored and removed.
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const TEMP_SUFFIX = '.tmp';

/** Called after every fsync this module does (tests count them). */
export type FsyncHook = (path: string) => void;

let tempCounter = 0;

export async function fsyncDirectory(dir: string, onFsync?: FsyncHook): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
    onFsync?.(dir);
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` atomically and durably. */
export async function writeFileAtomic(path: string, data: string | Buffer, onFsync?: FsyncHook): Promise<void> {
  // Unique temp name: two writers of the same file never share a temp file; the last rename wins.
  const tempPath = `${path}.${process.pid}-${++tempCounter}${TEMP_SUFFIX}`;
  const handle = await open(tempPath, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
    onFsync?.(tempPath);
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tempPath).catch(() => {});
    throw err;
  }
  await handle.close();
  await rename(tempPath, path);
  await fsyncDirectory(dirname(path), onFsync);
}

/** The file's bytes, or null when it does not exist; refuses files above `maxBytes`. */
export async function readFileIfExists(path: string, maxBytes = 16 * 1024 * 1024): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new CheckpointFormatError(`${basename(path)} is ${size} bytes, over the ${maxBytes}-byte limit`);
    return await readFile(handle);
  } finally {
    await handle.close();
  }
}

/** Deletes temp files left by interrupted atomic writes in `dir`. */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith(TEMP_SUFFIX)) continue;
    await unlink(join(dir, name)).catch(() => {});
    removed.push(name);
  }
  return removed;
}

export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
}

/** Kafka's checkpoint text: version line, entry count line, one space-separated entry per line. */
export function encodeCheckpoint(version: number, entries: readonly (readonly (string | number)[])[]): string {
  const lines = [String(version), String(entries.length), ...entries.map((entry) => entry.join(' '))];
  return lines.join('\n') + '\n';
}

/**
 * Parses the checkpoint text strictly: the version must match, the count must equal the entry
 * lines, every entry has `fieldsPerEntry` integer fields, and at most `maxEntries` are accepted.
 */
export function parseCheckpoint(text: string, expectedVersion: number, fieldsPerEntry: number, maxEntries: number): number[][] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 2) throw new CheckpointFormatError('checkpoint shorter than its two header lines');
  const version = parseInteger(lines[0]!);
  if (version !== expectedVersion) throw new CheckpointFormatError(`checkpoint version ${lines[0]} (expected ${expectedVersion})`);
  const count = parseInteger(lines[1]!);
  if (count < 0 || count > maxEntries) throw new CheckpointFormatError(`checkpoint entry count ${lines[1]} outside [0, ${maxEntries}]`);
  if (lines.length - 2 !== count) throw new CheckpointFormatError(`checkpoint declares ${count} entries but holds ${lines.length - 2}`);
  return lines.slice(2).map((line) => {
    const fields = line.split(' ');
    if (fields.length !== fieldsPerEntry) throw new CheckpointFormatError(`checkpoint entry "${line}" has ${fields.length} fields (expected ${fieldsPerEntry})`);
    return fields.map(parseInteger);
  });
}

function parseInteger(text: string): number {
  if (!/^-?\d{1,16}$/.test(text)) throw new CheckpointFormatError(`"${text.slice(0, 40)}" is not an integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new CheckpointFormatError(`${text} is out of range`);
  return value;
}
