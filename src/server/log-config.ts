import { parseCleanupPolicy, type LogConfig } from '../storage/log-config.ts';

/** Turns a topic's effective config (topic keys over broker defaults) into the storage engine's settings. */
export function logConfigFrom(effective: Record<string, string>): LogConfig {
  const number = (key: string): number => {
    const value = Number(effective[key]);
    if (!Number.isFinite(value)) throw new Error(`topic config ${key} is not numeric: ${effective[key]}`);
    return value;
  };
  return {
    segmentBytes: number('segment.bytes'),
    segmentMs: number('segment.ms'),
    retentionMs: number('retention.ms'),
    retentionBytes: number('retention.bytes'),
    maxMessageBytes: number('max.message.bytes'),
    flush: effective['flush'] === 'sync' ? 'sync' : 'async',
    flushMs: number('flush.ms'),
    indexIntervalBytes: number('index.interval.bytes'),
    messageTimestampType: effective['message.timestamp.type'] === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    cleanupPolicy: parseCleanupPolicy(effective['cleanup.policy'] ?? 'delete'),
    deleteRetentionMs: number('delete.retention.ms'),
    minCompactionLagMs: number('min.compaction.lag.ms'),
    minCleanableDirtyRatio: number('min.cleanable.dirty.ratio'),
  };
}
