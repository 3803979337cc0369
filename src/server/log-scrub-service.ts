// The background scrubber of this node: reads every partition log back through the CRC-checked
// read path, so a bit flip or a cut in bytes nobody reads (a follower's older segments, the
// segments a clean shutdown lets startup trust without a scan) is found and repaired from the
// other replicas instead of waiting until this node leads and serves them.
//
// A log is scrubbed soon after it is opened (each start of the node, each new replica), then again
// log.scrub.interval.ms after its last scrub; one partition at a time (a not-yet-scrubbed log this
// node leads first, else the longest unchecked), throttled to log.scrub.bytes.per.second. Damage
// needs nothing more from here: the read that meets a bad batch reports it
// (PartitionLog.noteDamage), and the replica leaves the ISR, cuts its log there and refetches,
// exactly as when a consumer's read finds it.
// Reads come through the page cache: bytes this process wrote recently are checked as cached,
// which is what a later read would see; older data, not cached after a restart, comes from disk.
import { setTimeout as sleepMs } from 'node:timers/promises';
import { recordScrubbedLog, recordScrubBytes } from '../admin/metrics.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { StorageError, StorageErrorCode } from '../storage/errors.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { Logger } from '../util/log.ts';
import { BackgroundService } from './background-service.ts';
import { IoThrottle } from './log-cleaner-service.ts';

export interface LogScrubSettings {
  enabled: boolean;
  bytesPerSecond: number;
  /** From the end of a log's scrub to the start of its next one. */
  intervalMs: number;
}

/** What the scrubber needs of a hosted partition. */
export interface ScrubbablePartition {
  name: string;
  log: PartitionLog;
  /**
   * The scrub stops here: committed data, which no leader change truncates (a follower's tail
   * above it may be cut while being read, which would look like damage).
   */
  highWatermark: number;
  /**
   * This node leads it now. A log not scrubbed since it was opened goes first when this node leads
   * it: after a restart that is the one whose damage clients would meet.
   */
  leading: boolean;
}

export interface ScrubOutcome {
  partition: string;
  bytes: number;
  /** The offset the scrub stopped at and why, when it met damage. */
  damage: { offset: number; reason: string } | null;
}

/** Bytes asked of one read: big enough to amortise the call, small enough to throttle smoothly. */
const READ_BYTES = 1024 * 1024;
/** Longest sleep while nothing is due, so new partitions are picked up soon. */
const IDLE_POLL_MS = 1000;

export class LogScrubService extends BackgroundService {
  /** When each log's last scrub ended; a log not in here has not been scrubbed since it was opened. */
  private readonly scrubbedAtMs = new WeakMap<PartitionLog, number>();
  /** While true, scrubs run at disk speed (the node stays fenced until its first pass is done). */
  unthrottled: () => boolean = () => false;
  /** Told once, when every log open at that moment has been scrubbed since the service started. */
  onFirstPassDone: (() => void) | null = null;
  private firstPassDone = false;

  constructor(
    private readonly settings: LogScrubSettings,
    private readonly partitions: () => ScrubbablePartition[],
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  static settingsFrom(config: BrokerConfig): LogScrubSettings {
    return {
      enabled: config.bool('log.scrub.enable'),
      bytesPerSecond: config.int('log.scrub.bytes.per.second'),
      intervalMs: config.int('log.scrub.interval.ms'),
    };
  }

  protected get enabled(): boolean {
    return this.settings.enabled;
  }

  /**
   * Some open log has not been scrubbed since the service started (false when it does not run).
   * The first false also tells onFirstPassDone.
   */
  firstPassPending(): boolean {
    if (!this.settings.enabled || this.firstPassDone) return false;
    if (this.partitions().some((partition) => this.awaitsFirstScrub(partition))) return true;
    this.firstPassDone = true;
    this.onFirstPassDone?.();
    return false;
  }

  private awaitsFirstScrub(partition: ScrubbablePartition): boolean {
    // A damaged log is being repaired from the replicas: nothing more to learn by reading it.
    return partition.log.isOpen && partition.log.damage === null && !this.scrubbedAtMs.has(partition.log);
  }

  protected async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const due = this.nextDue();
      // A scrub that threw (a bug) did not mark its log: pause rather than spin on it.
      const scrubbed = due.partition !== null && (await this.scrub(due.partition).catch(() => null)) !== null;
      if (scrubbed) this.firstPassPending(); // tells onFirstPassDone as soon as the pass ends
      if (!scrubbed) await sleepMs(Math.min(IDLE_POLL_MS, due.waitMs), undefined, { signal }).catch(() => {});
    }
  }

  /**
   * Among the partitions due: a never-scrubbed one this node leads, else the one unchecked for
   * longest; or how long until one is due.
   */
  private nextDue(): { partition: ScrubbablePartition | null; waitMs: number } {
    const nowMs = this.now();
    let best: ScrubbablePartition | null = null;
    let bestRank = Infinity;
    let bestAt = Infinity;
    let waitMs = Infinity;
    for (const partition of this.partitions()) {
      if (!partition.log.isOpen || partition.log.damage !== null) continue;
      const at = this.scrubbedAtMs.get(partition.log) ?? -Infinity;
      const dueInMs = at + this.settings.intervalMs - nowMs;
      if (dueInMs > 0) {
        waitMs = Math.min(waitMs, dueInMs);
        continue;
      }
      const rank = at === -Infinity && partition.leading ? 0 : 1;
      if (rank < bestRank || (rank === bestRank && at < bestAt)) {
        best = partition;
        bestRank = rank;
        bestAt = at;
      }
    }
    return { partition: best, waitMs };
  }

  /** Reads `partition`'s log from its start to its high watermark as it was when the scrub began. */
  async scrub(partition: ScrubbablePartition): Promise<ScrubOutcome> {
    const { log } = partition;
    const signal = this.stopController.signal;
    const throttle = new IoThrottle(this.settings.bytesPerSecond, this.now, signal);
    const end = Math.min(log.readableEndOffset, partition.highWatermark);
    const outcome: ScrubOutcome = { partition: partition.name, bytes: 0, damage: null };
    let offset = log.logStartOffset;
    try {
      // Each round reads at least one batch (nextOffset moves forward) or stops.
      while (offset < end && !signal.aborted && log.isOpen) {
        const { records, nextOffset } = await log.read(Math.max(offset, log.logStartOffset), READ_BYTES, end);
        if (records.length === 0 || nextOffset <= offset) break;
        outcome.bytes += records.length;
        recordScrubBytes(records.length);
        offset = nextOffset;
        if (!this.unthrottled()) await throttle.take(records.length);
      }
    } catch (error) {
      if (signal.aborted) return outcome;
      if (error instanceof StorageError && error.kafkaErrorCode === StorageErrorCode.KAFKA_STORAGE_ERROR && log.isOpen) {
        outcome.damage = { offset, reason: (error as Error).message };
        this.logger.error('scrub found damaged data; the replica repairs it from the other replicas', { partition: partition.name, offset, error: (error as Error).message });
      } else if (!(error instanceof StorageError && error.kafkaErrorCode === StorageErrorCode.OFFSET_OUT_OF_RANGE)) {
        // Closed, failed or truncated under the scrub: the next round starts over.
        this.logger.debug('scrub stopped', { partition: partition.name, offset, error: (error as Error).message });
      }
    }
    if (signal.aborted) return outcome;
    this.scrubbedAtMs.set(log, this.now());
    recordScrubbedLog(outcome.damage !== null);
    if (outcome.damage === null) this.logger.debug('scrubbed partition log', { partition: partition.name, bytes: outcome.bytes, upTo: offset });
    return outcome;
  }
}
