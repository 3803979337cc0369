// Named HA presets (DESIGN §5), after the cluster modes users know from RocketMQ, RabbitMQ and
// Kafka. A preset only sets topic DEFAULTS: the replication factor a CreateTopics request gets when
// it says -1, min.insync.replicas and flush. Anything set explicitly (a topic config, a broker key
// given in a file, environment or flag, an explicit replication factor) wins over the preset.

export const presetNames = ['single', 'multi-master', 'async-replica', 'sync-replica'] as const;
export type PresetName = (typeof presetNames)[number];

export interface Preset {
  name: PresetName;
  /** Replication factor wanted for requests that give -1; capped at the available brokers. */
  replicationFactor: number;
  minInsyncReplicas: number;
  flush: 'sync' | 'async';
  /** multi-master: at least one partition per available broker, so every node leads some. */
  partitionPerBroker: boolean;
}

const presets: Record<PresetName, Preset> = {
  'single': { name: 'single', replicationFactor: 1, minInsyncReplicas: 1, flush: 'async', partitionPerBroker: false },
  'multi-master': { name: 'multi-master', replicationFactor: 1, minInsyncReplicas: 1, flush: 'async', partitionPerBroker: true },
  'async-replica': { name: 'async-replica', replicationFactor: 2, minInsyncReplicas: 1, flush: 'async', partitionPerBroker: false },
  'sync-replica': { name: 'sync-replica', replicationFactor: 3, minInsyncReplicas: 2, flush: 'sync', partitionPerBroker: false },
};

export function isPresetName(value: string): value is PresetName {
  return (presetNames as readonly string[]).includes(value);
}

/** The preset of that name, or null for null/unknown (unknown names are refused earlier, at config validation). */
export function presetFor(name: string | null | undefined): Preset | null {
  return name !== null && name !== undefined && isPresetName(name) ? presets[name] : null;
}

/** The broker keys a cluster-wide preset sets, unless the operator set them explicitly. */
export function presetBrokerDefaults(preset: Preset): Record<string, string> {
  return {
    'default.replication.factor': String(preset.replicationFactor),
    'min.insync.replicas': String(preset.minInsyncReplicas),
    'log.flush': preset.flush,
  };
}

/** The topic keys a per-topic preset sets (below the topic's own explicit keys, above broker defaults). */
export function presetTopicDefaults(preset: Preset): Record<string, string> {
  return {
    'min.insync.replicas': String(preset.minInsyncReplicas),
    'flush': preset.flush,
  };
}

export type PresetReplicationResult =
  | { replicationFactor: number }
  | { problem: string };

/**
 * The replication factor for a request that gave -1 under `preset`: the preset's factor capped at
 * the available brokers (a preset is a wish, not a demand; an explicit factor above the broker count
 * is still refused, as in Kafka). Refused when the cap leaves fewer replicas than min.insync.replicas,
 * since such a topic could never take an acks=all write.
 */
export function presetReplicationFactor(wantedReplicationFactor: number, brokerCount: number, minInsyncReplicas: number, presetName: string): PresetReplicationResult {
  const replicationFactor = Math.min(wantedReplicationFactor, brokerCount);
  if (replicationFactor < 1) return { problem: `no broker is available for preset ${presetName}` };
  if (replicationFactor < minInsyncReplicas) {
    return { problem: `preset ${presetName} needs at least ${minInsyncReplicas} broker(s) for min.insync.replicas=${minInsyncReplicas}, only ${brokerCount} available` };
  }
  return { replicationFactor };
}
