// What the coordinator's parts share: the groups of one __consumer_offsets partition and the
// outbox of records waiting to be appended to it.
//
// Ordering contract (etcd-raft style): the coordinator never performs I/O. Whatever must be durable
// is queued here as a GroupWrite; the driver appends each write's records to __consumer_offsets in
// the order taken, and only then calls completeWrite(). Responses that depend on durability (the
// SyncGroup answers of a new generation, a static member's rejoin) are released by that call, so
// no member is told an assignment that a coordinator failover could forget.
import type { GroupCoordinatorConfig } from './group-config.ts';
import type { GroupWrite } from './group-types.ts';
import { Group } from './group.ts';
import type { OffsetsTopicRecord } from './offsets-topic-format.ts';
import type { Logger } from '../util/log.ts';

/** Runs after a write's append finished; appendErrorCode is the produce error (0 = durable). */
export type WriteContinuation = (appendErrorCode: number, nowMs: number) => void;

export class GroupStore {
  readonly groups = new Map<string, Group>();
  readonly config: GroupCoordinatorConfig;
  readonly logger: Logger;
  readonly #onWritesPending: (() => void) | undefined;
  #outbox: GroupWrite[] = [];
  readonly #continuations = new Map<number, WriteContinuation | null>();
  #nextWriteId = 1;
  #closed = false;

  constructor(config: GroupCoordinatorConfig, logger: Logger, onWritesPending?: () => void) {
    this.config = config;
    this.logger = logger;
    this.#onWritesPending = onWritesPending;
  }

  get closed(): boolean {
    return this.#closed;
  }

  group(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  /** A group that is still the live one under its id (not deleted, not replaced by a new one). */
  isCurrent(group: Group): boolean {
    return this.groups.get(group.groupId) === group;
  }

  createGroup(groupId: string, nowMs: number): Group {
    if (this.groups.has(groupId)) throw new Error(`group ${groupId} already exists`);
    const group = new Group(groupId, nowMs);
    this.groups.set(groupId, group);
    return group;
  }

  deleteGroup(group: Group): void {
    if (this.isCurrent(group)) this.groups.delete(group.groupId);
  }

  enqueueWrite(groupId: string, records: OffsetsTopicRecord[], continuation: WriteContinuation | null = null): number {
    if (records.length === 0) throw new Error('a group write needs at least one record');
    const writeId = this.#nextWriteId++;
    this.#outbox.push({ writeId, groupId, records });
    this.#continuations.set(writeId, continuation);
    if (this.#outbox.length === 1) this.#onWritesPending?.();
    return writeId;
  }

  /** The queued writes, oldest first; they leave the outbox but stay outstanding until completed. */
  takeWrites(): GroupWrite[] {
    const taken = this.#outbox;
    this.#outbox = [];
    return taken;
  }

  get outstandingWriteCount(): number {
    return this.#continuations.size;
  }

  completeWrite(writeId: number, appendErrorCode: number, nowMs: number): void {
    if (this.#closed) return;
    if (!this.#continuations.has(writeId)) throw new Error(`write ${writeId} is not outstanding`);
    const continuation = this.#continuations.get(writeId);
    this.#continuations.delete(writeId);
    continuation?.(appendErrorCode, nowMs);
  }

  /** After unload nothing is written or continued: the partition's next leader owns the groups. */
  close(): void {
    this.#closed = true;
    this.#outbox = [];
    this.#continuations.clear();
    this.groups.clear();
  }
}
