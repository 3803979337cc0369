// Settings of the group coordinator, named after Kafka's broker settings (in comments) with
// Kafka's defaults, except groupMaxSize: Kafka leaves it unbounded, Tide caps it (see below).

export interface GroupCoordinatorConfig {
  /** group.min.session.timeout.ms */
  groupMinSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  groupMaxSessionTimeoutMs: number;
  /** group.max.size. Kafka's default is unbounded; every member costs memory, so Tide caps it. */
  groupMaxSize: number;
  /** group.initial.rebalance.delay.ms: how long a new (Empty) group waits for more members. */
  groupInitialRebalanceDelayMs: number;
  /** A brand-new member that never completes its first join is dropped after this (Kafka: 5 minutes). */
  newMemberJoinTimeoutMs: number;
  /** offsets.retention.minutes, in ms: offsets of an empty group live this long. */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes (counted in UTF-16 units, as Java's String.length does). */
  offsetMetadataMaxBytes: number;
}

export const defaultGroupCoordinatorConfig: Readonly<GroupCoordinatorConfig> = Object.freeze({
  groupMinSessionTimeoutMs: 6_000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupMaxSize: 10_000,
  groupInitialRebalanceDelayMs: 3_000,
  newMemberJoinTimeoutMs: 300_000,
  offsetsRetentionMs: 7 * 24 * 60 * 60 * 1000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: 4096,
});

/** Defaults overlaid with `overrides`; throws a RangeError naming the first bad setting. */
export function groupCoordinatorConfig(overrides: Partial<GroupCoordinatorConfig> = {}): GroupCoordinatorConfig {
  const config: GroupCoordinatorConfig = { ...defaultGroupCoordinatorConfig, ...overrides };
  for (const [name, value] of Object.entries(config)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`group coordinator setting ${name} must be a non-negative integer, got ${String(value)}`);
    }
  }
  if (config.groupMinSessionTimeoutMs > config.groupMaxSessionTimeoutMs) {
    throw new RangeError('groupMinSessionTimeoutMs must not exceed groupMaxSessionTimeoutMs');
  }
  if (config.groupMaxSize < 1) throw new RangeError('groupMaxSize must be at least 1');
  if (config.offsetsRetentionCheckIntervalMs < 1) throw new RangeError('offsetsRetentionCheckIntervalMs must be at least 1');
  return config;
}
