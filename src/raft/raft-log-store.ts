// The durable Raft state of a node, in one directory (`<data dir>/__cluster_metadata-0/`):
//   hard-state   term, vote, commit; replaced atomically (temp, fsync, rename, fsync dir)
//   snapshot     the latest snapshot of the applied state; replaced atomically
//   log          entries appended in records: length:u32 crc32c:u32 payload(term:u64 index:u64 data)
// persist() resolves only after the fsync, so a driver that waits for it before sending keeps
// Raft's promise that nothing acknowledged is forgotten by a crash. At open, the log is read back
// and checked record by record: the first bad length or CRC is a torn tail from a crash during
// an append, and the log is cut there (and the cut logged). The in-memory view the core reads is
// a MemoryStorage kept equal to the files.
import { mkdir, open, readFile, readdir, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { Logger } from '../util/log.ts';
import { silentLogger } from '../util/log.ts';
import { MemoryStorage } from './core/storage.ts';
import { EMPTY_HARD_STATE } from './core/types.ts';
import type { ConfState, Entry, HardState, Ready, Snapshot } from './core/types.ts';
import { fsyncDirectory, tempSuffix, writeFileAtomic } from './atomic-file.ts';
import { writeFully } from '../io/write-fully.ts';

export const hardStateFileName = 'hard-state';
export const snapshotFileName = 'snapshot';
export const logFileName = 'log';

const hardStateMagic = 0x54485331; // "THS1"
const snapshotMagic = 0x54534e31; // "TSN1"
const recordHeaderBytes = 8;
const entryHeaderBytes = 16;
const twoTo32 = 0x1_0000_0000;

export interface RaftLogStoreOptions {
  /** The store's own directory, created if missing: `<data dir>/__cluster_metadata-0`. */
  readonly directory: string;
  /** Membership recorded in a fresh store's (empty) snapshot. */
  readonly confState: ConfState;
  readonly logger?: Logger;
  readonly maxEntryBytes?: number;
  readonly maxSnapshotBytes?: number;
  /** Refuse to load a log file larger than this (it is read whole at start). */
  readonly maxLogFileBytes?: number;
  /** Told the log file's path after each time its content is made durable (power-loss test mode). */
  readonly onFsync?: (path: string) => void;
}

export interface RecoveryReport {
  readonly entriesLoaded: number;
  /** Bytes cut off the end of the log because a record was incomplete or failed its CRC. */
  readonly tornTailBytes: number;
  /** Entries dropped because they did not continue the snapshot (a crash while installing one). */
  readonly entriesDropped: number;
}

export class RaftStoreCorruptionError extends Error {
  override name = 'RaftStoreCorruptionError';
}

interface LoadedLog {
  entries: Entry[];
  positions: number[];
  validBytes: number;
  fileBytes: number;
}

export class RaftLogStore {
  /** What the core reads: always equal to what is on disk. */
  readonly storage: MemoryStorage;
  readonly recovery: RecoveryReport;
  private readonly directory: string;
  private readonly logger: Logger;
  private log: FileHandle;
  /** File offset of each entry in the log file, for entries [fileFirstIndex, ...]. */
  private positions: number[];
  private fileFirstIndex: number;
  private fileBytes: number;
  private readonly onFsync: ((path: string) => void) | undefined;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private fileClosed = false;

  private constructor(fields: {
    directory: string; logger: Logger; storage: MemoryStorage; log: FileHandle; positions: number[];
    fileFirstIndex: number; fileBytes: number; recovery: RecoveryReport; onFsync: ((path: string) => void) | undefined;
  }) {
    this.directory = fields.directory;
    this.logger = fields.logger;
    this.storage = fields.storage;
    this.log = fields.log;
    this.positions = fields.positions;
    this.fileFirstIndex = fields.fileFirstIndex;
    this.fileBytes = fields.fileBytes;
    this.recovery = fields.recovery;
    this.onFsync = fields.onFsync;
  }

  static async open(options: RaftLogStoreOptions): Promise<RaftLogStore> {
    const directory = options.directory;
    const logger = options.logger ?? silentLogger;
    const maxEntryBytes = options.maxEntryBytes ?? 8 * 1024 * 1024;
    await mkdir(directory, { recursive: true });
    for (const name of await readdir(directory)) {
      if (name.endsWith(tempSuffix)) await rm(join(directory, name), { force: true });
    }
    const hardState = await readHardState(directory);
    const snapshot = await readSnapshot(directory, options.maxSnapshotBytes ?? 512 * 1024 * 1024);
    const loaded = await readLog(join(directory, logFileName), maxEntryBytes, options.maxLogFileBytes ?? 1024 * 1024 * 1024);

    const storage = new MemoryStorage(snapshot?.metadata.confState ?? options.confState);
    if (snapshot) storage.applySnapshot(snapshot);
    const kept = entriesAfterSnapshot(loaded.entries, snapshot);
    storage.append(kept);
    if (hardState.commit > storage.lastIndex()) {
      throw new RaftStoreCorruptionError(`${directory}: hard state commits ${hardState.commit} but the log ends at ${storage.lastIndex()}; committed entries are missing`);
    }
    if (hardState.commit < storage.firstIndex() - 1) {
      throw new RaftStoreCorruptionError(`${directory}: hard state commit ${hardState.commit} is before the snapshot at ${storage.firstIndex() - 1}`);
    }
    storage.setHardState(hardState);

    const tornTailBytes = loaded.fileBytes - loaded.validBytes;
    if (tornTailBytes > 0) logger.warn('cut torn tail of raft log', { directory, offset: loaded.validBytes, bytes: tornTailBytes });
    const entriesDropped = loaded.entries.length - kept.length - countAtOrBefore(loaded.entries, snapshot?.metadata.index ?? 0);
    if (entriesDropped > 0) logger.warn('dropped raft log entries that do not continue the snapshot', { directory, entries: entriesDropped });

    let log: FileHandle;
    let positions: number[];
    let fileBytes: number;
    const rewrite = kept.length !== loaded.entries.length;
    if (rewrite) {
      // Make the file hold exactly what memory holds, so offsets and indexes line up again.
      const written = await rewriteLogFile(directory, kept);
      log = await open(join(directory, logFileName), 'r+');
      positions = written.positions;
      fileBytes = written.bytes;
    } else {
      // r+ rather than a: positional writes must land where asked (O_APPEND ignores positions).
      log = await open(join(directory, logFileName), 'r+');
      if (tornTailBytes > 0) {
        await log.truncate(loaded.validBytes);
        await log.sync();
      }
      positions = loaded.positions;
      fileBytes = loaded.validBytes;
    }
    const fileFirstIndex = kept[0]?.index ?? storage.lastIndex() + 1;
    await fsyncDirectory(directory);
    options.onFsync?.(join(directory, logFileName));
    logger.info('raft log store opened', { directory, firstIndex: storage.firstIndex(), lastIndex: storage.lastIndex(), term: hardState.term, commit: hardState.commit });
    return new RaftLogStore({
      directory, logger, storage, log, positions, fileFirstIndex, fileBytes, onFsync: options.onFsync,
      recovery: { entriesLoaded: kept.length, tornTailBytes, entriesDropped },
    });
  }

  /**
   * Makes a Ready's snapshot, entries and hard state durable (in that order), then updates the
   * in-memory view. Resolves after the fsyncs: only then may the Ready's messages be sent.
   */
  persist(ready: Pick<Ready, 'hardState' | 'entries' | 'snapshot'>): Promise<void> {
    return this.serialize(async () => {
      if (ready.snapshot) await this.installSnapshot(ready.snapshot);
      if (ready.entries.length > 0) await this.appendEntries(ready.entries);
      if (ready.hardState) await this.writeHardState(ready.hardState);
    });
  }

  /**
   * Records a snapshot of the applied state at `index` and drops log entries up to
   * `index - retainEntries` (kept entries let a slightly lagging follower catch up without it).
   */
  saveSnapshot(index: number, data: Uint8Array, confState: ConfState, retainEntries = 0): Promise<Snapshot> {
    return this.serialize(async () => {
      const snapshot = this.storage.createSnapshot(index, data, confState);
      await writeFileAtomic(this.directory, snapshotFileName, encodeSnapshot(snapshot));
      const compactIndex = Math.max(0, index - retainEntries);
      if (compactIndex > this.storage.firstIndex() - 1) {
        this.storage.compact(compactIndex);
        await this.replaceLog(this.storedEntries());
      }
      return snapshot;
    });
  }

  async close(): Promise<void> {
    // A failed write marked the store closed to writes; its file is still open until here.
    if (this.fileClosed) return;
    this.fileClosed = true;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.log.close();
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('raft log store is closed'));
    const result = this.tail.then(work);
    // A failed write leaves the store unusable: later writes must not pretend it succeeded.
    this.tail = result.then(() => undefined, (error: unknown) => {
      this.closed = true;
      throw error;
    });
    // The caller gets the failure through `result`; the chain's copy is only read by later calls.
    this.tail.catch(() => undefined);
    return result;
  }

  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    await writeFileAtomic(this.directory, snapshotFileName, encodeSnapshot(snapshot));
    this.storage.applySnapshot(snapshot);
    await this.replaceLog([]);
  }

  private async appendEntries(entries: readonly Entry[]): Promise<void> {
    const first = entries[0]!.index;
    const fileLastIndex = this.fileFirstIndex + this.positions.length - 1;
    if (this.positions.length === 0) {
      this.fileFirstIndex = first;
    } else if (first <= fileLastIndex) {
      // Overwriting uncommitted entries a new leader does not have: cut them first.
      const keep = first - this.fileFirstIndex;
      if (keep < 0) throw new RaftStoreCorruptionError(`append at ${first} is before the log file's first entry ${this.fileFirstIndex}`);
      this.fileBytes = this.positions[keep]!;
      this.positions.length = keep;
      await this.log.truncate(this.fileBytes);
    } else if (first !== fileLastIndex + 1) {
      throw new RaftStoreCorruptionError(`append at ${first} leaves a gap after ${fileLastIndex}`);
    }
    const { bytes, offsets } = encodeRecords(entries);
    // Short writes loop (writeFully): taking one for success acknowledged an entry a full disk had
    // taken only in part, cut as a torn tail after the restart (test/raft/raft-log-store-full-disk.test.ts).
    await writeFully(this.log, [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)], this.fileBytes);
    await this.log.datasync();
    this.onFsync?.(join(this.directory, logFileName));
    for (const offset of offsets) this.positions.push(this.fileBytes + offset);
    this.fileBytes += bytes.length;
    this.storage.append(entries);
  }

  private async writeHardState(hardState: HardState): Promise<void> {
    await writeFileAtomic(this.directory, hardStateFileName, encodeHardState(hardState));
    this.storage.setHardState(hardState);
  }

  private storedEntries(): Entry[] {
    const first = this.storage.firstIndex();
    const last = this.storage.lastIndex();
    return first > last ? [] : this.storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER);
  }

  private async replaceLog(entries: Entry[]): Promise<void> {
    await this.log.close();
    const written = await rewriteLogFile(this.directory, entries);
    this.log = await open(join(this.directory, logFileName), 'r+');
    this.onFsync?.(join(this.directory, logFileName));
    this.positions = written.positions;
    this.fileBytes = written.bytes;
    this.fileFirstIndex = entries[0]?.index ?? this.storage.lastIndex() + 1;
  }
}

// ---- encoding ---------------------------------------------------------------------------------

function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / twoTo32));
  view.setUint32(offset + 4, value >>> 0);
}

function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset) * twoTo32 + view.getUint32(offset + 4);
}

function encodeRecords(entries: readonly Entry[]): { bytes: Uint8Array; offsets: number[] } {
  let size = 0;
  for (const entry of entries) size += recordHeaderBytes + entryHeaderBytes + entry.data.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  const offsets: number[] = [];
  let offset = 0;
  for (const entry of entries) {
    offsets.push(offset);
    const payloadLength = entryHeaderBytes + entry.data.length;
    const payloadStart = offset + recordHeaderBytes;
    writeU64(view, payloadStart, entry.term);
    writeU64(view, payloadStart + 8, entry.index);
    bytes.set(entry.data, payloadStart + entryHeaderBytes);
    view.setUint32(offset, payloadLength);
    view.setUint32(offset + 4, crc32c(bytes.subarray(payloadStart, payloadStart + payloadLength)));
    offset += recordHeaderBytes + payloadLength;
  }
  return { bytes, offsets };
}

function encodeHardState(hardState: HardState): Uint8Array {
  const bytes = new Uint8Array(4 + 8 + 4 + 8 + 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, hardStateMagic);
  writeU64(view, 4, hardState.term);
  view.setUint32(12, hardState.vote);
  writeU64(view, 16, hardState.commit);
  view.setUint32(24, crc32c(bytes.subarray(0, 24)));
  return bytes;
}

function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const { index, term, confState } = snapshot.metadata;
  const size = 4 + 8 + 8 + 4 + 4 * confState.voters.length + 4 + 4 * confState.learners.length + 4 + snapshot.data.length + 4;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  view.setUint32(offset, snapshotMagic); offset += 4;
  writeU64(view, offset, index); offset += 8;
  writeU64(view, offset, term); offset += 8;
  view.setUint32(offset, confState.voters.length); offset += 4;
  for (const id of confState.voters) { view.setUint32(offset, id); offset += 4; }
  view.setUint32(offset, confState.learners.length); offset += 4;
  for (const id of confState.learners) { view.setUint32(offset, id); offset += 4; }
  view.setUint32(offset, snapshot.data.length); offset += 4;
  bytes.set(snapshot.data, offset); offset += snapshot.data.length;
  view.setUint32(offset, crc32c(bytes.subarray(0, offset)));
  return bytes;
}

// ---- recovery ---------------------------------------------------------------------------------

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readHardState(directory: string): Promise<HardState> {
  const path = join(directory, hardStateFileName);
  const bytes = await readOptional(path);
  if (bytes === undefined) return EMPTY_HARD_STATE;
  // Replaced atomically, so a bad file is not a torn write but damage: refuse to guess a vote.
  if (bytes.length !== 28) throw new RaftStoreCorruptionError(`${path}: ${bytes.length} bytes, expected 28`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== hardStateMagic) throw new RaftStoreCorruptionError(`${path}: bad magic`);
  if (view.getUint32(24) !== crc32c(bytes.subarray(0, 24))) throw new RaftStoreCorruptionError(`${path}: CRC mismatch`);
  return { term: readU64(view, 4), vote: view.getUint32(12), commit: readU64(view, 16) };
}

async function readSnapshot(directory: string, maxSnapshotBytes: number): Promise<Snapshot | undefined> {
  const path = join(directory, snapshotFileName);
  const bytes = await readOptional(path);
  if (bytes === undefined) return undefined;
  const fail = (why: string): never => { throw new RaftStoreCorruptionError(`${path}: ${why}`); };
  if (bytes.length > maxSnapshotBytes + 4096) fail(`${bytes.length} bytes exceeds the limit`);
  if (bytes.length < 36) fail('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(bytes.length - 4) !== crc32c(bytes.subarray(0, bytes.length - 4))) fail('CRC mismatch');
  if (view.getUint32(0) !== snapshotMagic) fail('bad magic');
  let offset = 4;
  const index = readU64(view, offset); offset += 8;
  const term = readU64(view, offset); offset += 8;
  const readIds = (): number[] => {
    const count = view.getUint32(offset); offset += 4;
    if (count * 4 > bytes.length - offset - 8) fail(`member count ${count} beyond the file`);
    const ids: number[] = [];
    for (let at = 0; at < count; at++) { ids.push(view.getUint32(offset)); offset += 4; }
    return ids;
  };
  const voters = readIds();
  const learners = readIds();
  const dataLength = view.getUint32(offset); offset += 4;
  if (offset + dataLength + 4 !== bytes.length) fail('data length does not match the file');
  const data = new Uint8Array(bytes.subarray(offset, offset + dataLength));
  return { metadata: { index, term, confState: { voters, learners } }, data };
}

/** Reads records up to the first damaged one; everything from there on is the torn tail. */
async function readLog(path: string, maxEntryBytes: number, maxLogFileBytes: number): Promise<LoadedLog> {
  const handle = await open(path, 'a+');
  let bytes: Buffer;
  try {
    const { size } = await handle.stat();
    if (size > maxLogFileBytes) throw new RaftStoreCorruptionError(`${path}: ${size} bytes exceeds the ${maxLogFileBytes}-byte limit`);
    bytes = Buffer.alloc(size);
    if (size > 0) await handle.read(bytes, 0, size, 0);
  } finally {
    await handle.close();
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: Entry[] = [];
  const positions: number[] = [];
  let offset = 0;
  while (offset + recordHeaderBytes <= bytes.length) {
    const payloadLength = view.getUint32(offset);
    if (payloadLength < entryHeaderBytes || payloadLength > entryHeaderBytes + maxEntryBytes) break;
    const payloadStart = offset + recordHeaderBytes;
    if (payloadStart + payloadLength > bytes.length) break;
    const payload = bytes.subarray(payloadStart, payloadStart + payloadLength);
    if (view.getUint32(offset + 4) !== crc32c(payload)) break;
    const term = readU64(view, payloadStart);
    const index = readU64(view, payloadStart + 8);
    const previous = entries[entries.length - 1];
    if (previous && (index !== previous.index + 1 || term < previous.term)) break;
    entries.push({ term, index, data: new Uint8Array(payload.subarray(entryHeaderBytes)) });
    positions.push(offset);
    offset = payloadStart + payloadLength;
  }
  return { entries, positions, validBytes: offset, fileBytes: bytes.length };
}

/** The entries that continue the snapshot; none if the log diverges from it. */
function entriesAfterSnapshot(entries: Entry[], snapshot: Snapshot | undefined): Entry[] {
  const snapshotIndex = snapshot?.metadata.index ?? 0;
  const first = entries[0];
  if (first === undefined) return [];
  if (first.index > snapshotIndex + 1) return [];
  if (snapshotIndex > 0) {
    const atSnapshot = entries[snapshotIndex - first.index];
    // The log must hold the snapshot's own entry with its term; otherwise it is from another history.
    if (atSnapshot !== undefined && atSnapshot.term !== snapshot!.metadata.term) return [];
    if (atSnapshot === undefined && first.index !== snapshotIndex + 1) return [];
  }
  return entries.slice(Math.max(0, snapshotIndex + 1 - first.index));
}

function countAtOrBefore(entries: Entry[], index: number): number {
  let count = 0;
  for (const entry of entries) if (entry.index <= index) count++;
  return count;
}

async function rewriteLogFile(directory: string, entries: Entry[]): Promise<{ positions: number[]; bytes: number }> {
  const { bytes, offsets } = encodeRecords(entries);
  await writeFileAtomic(directory, logFileName, bytes);
  return { positions: offsets, bytes: bytes.length };
}
