// Disk faults for a stopped (or killed) node's data directory:
// - power loss: cut every segment back to its last fsynced length, as journalled by the node in
//   power-loss test mode (power-loss-journal.ts); segments never fsynced are cut to nothing;
// - corruption: flip one bit, or cut the file short, at a chosen point of a segment;
// - full disk: a size-limited tmpfs as the data dir (needs root), filled on demand.
// Only segment files (`<20 digits>.log`) and the Raft metadata log are cut: every other file Tide
// writes is replaced by an atomic rename after an fsync, so it is either there whole or not at all.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readdirSync, readSync, statfsSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isAppendedFile, readJournal } from './power-loss-journal.ts';

const SEGMENT_NAME = /^\d{20}\.log$/;
const MAX_DIRECTORY_DEPTH = 8;
const MAX_FILES_SCANNED = 100_000;

/** Every segment file under `dataDir`, sorted by path (so a seeded choice among them replays). */
export function listSegmentFiles(dataDir: string): string[] {
  return listFiles(dataDir, (_path, name) => SEGMENT_NAME.test(name));
}

/** What a power cut can shorten under `dataDir`: segments and the Raft metadata log. */
function listAppendedFiles(dataDir: string): string[] {
  return listFiles(dataDir, (path) => isAppendedFile(path));
}

function listFiles(dataDir: string, wanted: (path: string, name: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > MAX_DIRECTORY_DEPTH || found.length >= MAX_FILES_SCANNED) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, depth + 1);
      else if (entry.isFile() && wanted(path, entry.name)) found.push(path);
    }
  };
  walk(dataDir, 0);
  return found.sort();
}

/**
 * Before starting a node in power-loss mode: fsyncs every segment as it is now and starts a fresh
 * journal listing them, so the journal alone says what would survive a power cut.
 */
export function writeDurableBaseline(dataDir: string, journalPath: string): void {
  const lines: string[] = [];
  for (const path of listAppendedFiles(dataDir)) {
    const fd = openSync(path, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    lines.push(`${path} ${statSync(path).size}\n`);
  }
  writeFileSync(journalPath, lines.join(''), { flush: true });
}

export interface PowerLossReport {
  segmentsCut: number;
  bytesDropped: number;
  files: { path: string; fromBytes: number; toBytes: number }[];
}

/** After a SIGKILL: what a power cut at that instant would have left of the node's segments. */
export function cutToFsyncedLengths(dataDir: string, journalPath: string): PowerLossReport {
  const durable = readJournal(journalPath);
  const report: PowerLossReport = { segmentsCut: 0, bytesDropped: 0, files: [] };
  for (const path of listAppendedFiles(dataDir)) {
    const size = statSync(path).size;
    const keep = Math.min(size, durable.get(path) ?? 0);
    if (keep === size) continue;
    truncateSync(path, keep);
    report.segmentsCut++;
    report.bytesDropped += size - keep;
    report.files.push({ path, fromBytes: size, toBytes: keep });
  }
  return report;
}

export type CorruptionKind = 'bitflip' | 'truncate';

export interface CorruptionReport {
  kind: CorruptionKind;
  path: string;
  position: number;
  sizeBytes: number;
}

/** Damages `path` at `position` (a byte index below its size): one bit flipped, or the file cut there. */
export function corruptFile(path: string, kind: CorruptionKind, position: number, bit = 0): CorruptionReport {
  const sizeBytes = statSync(path).size;
  if (!Number.isSafeInteger(position) || position < 0 || position >= sizeBytes) throw new RangeError(`position ${position} outside ${path} (${sizeBytes} bytes)`);
  if (kind === 'truncate') {
    truncateSync(path, position);
  } else {
    const fd = openSync(path, 'r+');
    try {
      const byte = Buffer.alloc(1);
      readSync(fd, byte, 0, 1, position);
      byte[0] = byte[0]! ^ (1 << (bit & 7));
      writeSync(fd, byte, 0, 1, position);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return { kind, path, position, sizeBytes };
}

// ------------------------------------------------------------------ full disk

/** Mounts a tmpfs of `sizeBytes` on `dir` (root only). Throws when mounting is not possible here. */
export function mountTmpfs(dir: string, sizeBytes: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
}

export function unmountTmpfs(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'pipe' });
}

/** Whether this machine lets the harness mount a tmpfs (probes with a 1 MiB mount). */
export function canMountTmpfs(probeDir: string): boolean {
  try {
    mountTmpfs(probeDir, 1024 * 1024);
  } catch {
    return false;
  }
  unmountTmpfs(probeDir);
  return true;
}

export function freeBytes(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

const FILL_CHUNK_BYTES = 1024 * 1024;
const MAX_FILL_CHUNKS = 64 * 1024;

/**
 * Writes `fillerPath` until at most `leaveFreeBytes` remain on its file system (or it is full).
 * Returns the bytes written; remove the file to end the episode.
 */
export function fillDisk(fillerPath: string, leaveFreeBytes = 0): number {
  const fd = openSync(fillerPath, 'a');
  let written = 0;
  try {
    const chunk = Buffer.alloc(FILL_CHUNK_BYTES, 0x5a);
    for (let round = 0; round < MAX_FILL_CHUNKS; round++) {
      const room = freeBytes(fillerPath) - leaveFreeBytes;
      if (room <= 0) break;
      try {
        written += writeSync(fd, chunk, 0, Math.min(room, FILL_CHUNK_BYTES));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

export function removeFiller(fillerPath: string): void {
  try {
    unlinkSync(fillerPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

// ------------------------------------------------------------------ choosing where to corrupt

const LOG_OVERHEAD_BYTES = 12; // baseOffset int64 + batchLength int32
const CRC_COVERED_FROM = 21; // attributes onward; baseOffset, length, leader epoch, magic, crc are not covered
const MAX_BATCHES_WALKED = 1_000_000;
const MAX_SEGMENT_BYTES_READ = 1024 * 1024 * 1024;

/**
 * A byte of `path` that the batch CRC-32C covers, chosen by `pick` in [0, 1): the batch is picked
 * by that fraction of the batches in the file, the byte by that fraction of the covered span.
 * Null when the file holds no whole batch. A flip here must be caught by the CRC alone; the
 * uncovered header fields are checked structurally by recovery and are not targeted.
 */
export function crcCoveredPosition(path: string, pick: number): number | null {
  const size = statSync(path).size;
  if (size > MAX_SEGMENT_BYTES_READ) throw new RangeError(`${path} is over ${MAX_SEGMENT_BYTES_READ} bytes`);
  const fd = openSync(path, 'r');
  const batches: { start: number; end: number }[] = [];
  try {
    const header = Buffer.alloc(LOG_OVERHEAD_BYTES);
    let position = 0;
    for (let walked = 0; walked < MAX_BATCHES_WALKED && position + LOG_OVERHEAD_BYTES <= size; walked++) {
      if (readSync(fd, header, 0, LOG_OVERHEAD_BYTES, position) < LOG_OVERHEAD_BYTES) break;
      const batchLength = header.readInt32BE(8);
      const end = position + LOG_OVERHEAD_BYTES + batchLength;
      if (batchLength < CRC_COVERED_FROM || end > size) break;
      batches.push({ start: position, end });
      position = end;
    }
  } finally {
    closeSync(fd);
  }
  if (batches.length === 0) return null;
  const fraction = Math.min(Math.max(pick, 0), 0.999999);
  const batch = batches[Math.floor(fraction * batches.length)]!;
  const coveredStart = batch.start + CRC_COVERED_FROM;
  const within = (fraction * batches.length) % 1;
  return coveredStart + Math.floor(within * (batch.end - coveredStart));
}
