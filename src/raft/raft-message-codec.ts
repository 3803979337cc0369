// Binary encoding of Raft messages between Tide nodes (a self-made format: both ends are Tide).
// Big-endian; 64-bit fields must fit in a JavaScript safe integer. Every length is checked against
// the bytes that remain and against a limit before anything is allocated or looped over, and a
// message the core could trip over (local kinds, non-contiguous entries) is refused here.
//
//   message  = version:u8 type:u8 from:u32 to:u32 term:u64 logTerm:u64 index:u64 commit:u64
//              rejectHint:u64 flags:u8 entryCount:u32 entry* [snapshot]      flags: 1 reject,
//   entry    = term:u64 index:u64 dataLength:u32 data                           2 transfer,
//   snapshot = index:u64 term:u64 voterCount:u32 u32* learnerCount:u32 u32*     4 snapshot
//              dataLength:u32 data
import { MessageType, isNetworkMessageType } from './core/types.ts';
import type { Entry, Message, NodeId, Snapshot } from './core/types.ts';

export const raftCodecVersion = 1;

export interface RaftCodecLimits {
  readonly maxMessageBytes: number;
  readonly maxEntriesPerMessage: number;
  readonly maxEntryBytes: number;
  readonly maxSnapshotBytes: number;
  readonly maxMembers: number;
}

export const defaultRaftCodecLimits: RaftCodecLimits = {
  maxMessageBytes: 128 * 1024 * 1024,
  maxEntriesPerMessage: 100_000,
  maxEntryBytes: 8 * 1024 * 1024,
  maxSnapshotBytes: 120 * 1024 * 1024,
  maxMembers: 1024,
};

export class RaftCodecError extends Error {
  override name = 'RaftCodecError';
}

const flagReject = 1;
const flagTransfer = 2;
const flagSnapshot = 4;
const headerBytes = 1 + 1 + 4 + 4 + 8 * 5 + 1 + 4;
const entryHeaderBytes = 8 + 8 + 4;
const twoTo32 = 0x1_0000_0000;

export function encodeRaftMessage(message: Message): Uint8Array {
  let size = headerBytes;
  for (const entry of message.entries) size += entryHeaderBytes + entry.data.length;
  const snapshot = message.snapshot;
  if (snapshot) {
    const conf = snapshot.metadata.confState;
    size += 8 + 8 + 4 + 4 * conf.voters.length + 4 + 4 * conf.learners.length + 4 + snapshot.data.length;
  }
  const bytes = new Uint8Array(size);
  const writer = new Writer(bytes);
  writer.u8(raftCodecVersion);
  writer.u8(message.type);
  writer.u32(message.from);
  writer.u32(message.to);
  writer.u64(message.term);
  writer.u64(message.logTerm);
  writer.u64(message.index);
  writer.u64(message.commit);
  writer.u64(message.rejectHint);
  writer.u8((message.reject ? flagReject : 0) | (message.transfer ? flagTransfer : 0) | (snapshot ? flagSnapshot : 0));
  writer.u32(message.entries.length);
  for (const entry of message.entries) {
    writer.u64(entry.term);
    writer.u64(entry.index);
    writer.u32(entry.data.length);
    writer.bytes(entry.data);
  }
  if (snapshot) {
    const { index, term, confState } = snapshot.metadata;
    writer.u64(index);
    writer.u64(term);
    writer.u32(confState.voters.length);
    for (const id of confState.voters) writer.u32(id);
    writer.u32(confState.learners.length);
    for (const id of confState.learners) writer.u32(id);
    writer.u32(snapshot.data.length);
    writer.bytes(snapshot.data);
  }
  return bytes;
}

export function decodeRaftMessage(bytes: Uint8Array, limits: RaftCodecLimits = defaultRaftCodecLimits): Message {
  if (bytes.length > limits.maxMessageBytes) throw new RaftCodecError(`message of ${bytes.length} bytes exceeds ${limits.maxMessageBytes}`);
  const reader = new Reader(bytes);
  const version = reader.u8();
  if (version !== raftCodecVersion) throw new RaftCodecError(`unsupported raft codec version ${version}`);
  const type = reader.u8();
  if (!isNetworkMessageType(type)) throw new RaftCodecError(`message type ${type} may not travel`);
  const from = reader.nodeId();
  const to = reader.nodeId();
  const term = reader.u64();
  const logTerm = reader.u64();
  const index = reader.u64();
  const commit = reader.u64();
  const rejectHint = reader.u64();
  const flags = reader.u8();
  if ((flags & ~(flagReject | flagTransfer | flagSnapshot)) !== 0) throw new RaftCodecError(`unknown flags ${flags}`);
  if (term === 0) throw new RaftCodecError('a network message needs a term');
  const entryCount = reader.u32();
  if (entryCount > limits.maxEntriesPerMessage) throw new RaftCodecError(`${entryCount} entries exceed ${limits.maxEntriesPerMessage}`);
  if (entryCount > 0 && type !== MessageType.Append) throw new RaftCodecError('only Append carries entries');
  if (entryCount * entryHeaderBytes > reader.remaining) throw new RaftCodecError(`${entryCount} entries cannot fit in ${reader.remaining} bytes`);
  const entries: Entry[] = [];
  for (let at = 0; at < entryCount; at++) {
    const entryTerm = reader.u64();
    const entryIndex = reader.u64();
    // The core assumes an Append's entries follow `index` without gaps and never go back in term.
    if (entryIndex !== index + 1 + at) throw new RaftCodecError(`entry ${at} has index ${entryIndex}, expected ${index + 1 + at}`);
    if (entryTerm === 0 || entryTerm > term || (at > 0 && entryTerm < entries[at - 1]!.term)) throw new RaftCodecError(`entry ${entryIndex} has bad term ${entryTerm}`);
    const data = reader.sizedBytes(limits.maxEntryBytes, 'entry');
    entries.push({ term: entryTerm, index: entryIndex, data });
  }
  let snapshot: Snapshot | undefined;
  if ((flags & flagSnapshot) !== 0) {
    if (type !== MessageType.Snapshot) throw new RaftCodecError('only Snapshot carries a snapshot');
    const snapshotIndex = reader.u64();
    const snapshotTerm = reader.u64();
    const voters = reader.nodeIds(limits.maxMembers);
    const learners = reader.nodeIds(limits.maxMembers);
    const data = reader.sizedBytes(limits.maxSnapshotBytes, 'snapshot');
    if (snapshotIndex === 0 || snapshotTerm === 0) throw new RaftCodecError('empty snapshot');
    snapshot = { metadata: { index: snapshotIndex, term: snapshotTerm, confState: { voters, learners } }, data };
  } else if (type === MessageType.Snapshot) {
    throw new RaftCodecError('Snapshot message without a snapshot');
  }
  if (reader.remaining !== 0) throw new RaftCodecError(`${reader.remaining} trailing bytes`);
  return {
    type, from, to, term, logTerm, index, commit, rejectHint, entries,
    reject: (flags & flagReject) !== 0, transfer: (flags & flagTransfer) !== 0,
    ...(snapshot ? { snapshot } : {}),
  };
}

class Writer {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly target: Uint8Array) {
    this.view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  }

  u8(value: number): void {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value >= twoTo32) throw new RaftCodecError(`${value} does not fit in 32 bits`);
    this.view.setUint32(this.offset, value);
    this.offset += 4;
  }

  u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RaftCodecError(`${value} is not a non-negative safe integer`);
    this.view.setUint32(this.offset, Math.floor(value / twoTo32));
    this.view.setUint32(this.offset + 4, value >>> 0);
    this.offset += 8;
  }

  bytes(data: Uint8Array): void {
    this.target.set(data, this.offset);
    this.offset += data.length;
  }
}

class Reader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly source: Uint8Array) {
    this.view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  }

  get remaining(): number {
    return this.source.length - this.offset;
  }

  private need(count: number, what: string): void {
    if (count > this.remaining) throw new RaftCodecError(`truncated message: ${what} needs ${count} bytes, ${this.remaining} left`);
  }

  u8(): number {
    this.need(1, 'u8');
    return this.view.getUint8(this.offset++);
  }

  u32(): number {
    this.need(4, 'u32');
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    this.need(8, 'u64');
    const high = this.view.getUint32(this.offset);
    const low = this.view.getUint32(this.offset + 4);
    this.offset += 8;
    if (high > 0x1f_ffff) throw new RaftCodecError('64-bit value beyond 2^53');
    return high * twoTo32 + low;
  }

  nodeId(): NodeId {
    const id = this.u32();
    if (id === 0 || id > 0x7fff_ffff) throw new RaftCodecError(`bad node id ${id}`);
    return id;
  }

  nodeIds(max: number): NodeId[] {
    const count = this.u32();
    if (count > max || count * 4 > this.remaining) throw new RaftCodecError(`member count ${count} exceeds the limit or the message`);
    const ids: NodeId[] = [];
    for (let at = 0; at < count; at++) ids.push(this.nodeId());
    return ids;
  }

  /** A u32 length then that many bytes, copied so the message does not pin the receive buffer. */
  sizedBytes(max: number, what: string): Uint8Array {
    const length = this.u32();
    if (length > max) throw new RaftCodecError(`${what} of ${length} bytes exceeds ${max}`);
    this.need(length, what);
    const data = this.source.slice(this.offset, this.offset + length);
    this.offset += length;
    return data;
  }
}
