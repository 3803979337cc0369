// The built-in alert rules, evaluated inside the node against a ClusterHealth snapshot. Each rule
// returns the instances that are true right now; the evaluator turns "true for forMs" into firing.
// deploy/prometheus/tide-alerts.yml carries the same rules for a Prometheus setup.
import type { ClusterHealth } from './cluster-health.ts';

export type AlertSeverity = 'critical' | 'warning';

export interface AlertInstance {
  labels: Record<string, string>;
  description: string;
}

export interface AlertRule {
  name: string;
  severity: AlertSeverity;
  /** How long the condition must hold before the alert fires (0: at the first evaluation). */
  forMs: number;
  summary: string;
  evaluate(health: ClusterHealth): AlertInstance[];
}

/** Durations before firing; the defaults are documented in docs/http-api.md. */
export interface AlertThresholds {
  brokerDownForMs: number;
  underReplicatedForMs: number;
  underMinIsrForMs: number;
  noControllerForMs: number;
  /** Lag (messages) of one group partition above which TideConsumerLag is pending. */
  consumerLagMax: number;
  consumerLagForMs: number;
}

export const defaultAlertThresholds: AlertThresholds = {
  // A broker restart takes seconds; only a broker that stays away is worth waking someone for.
  brokerDownForMs: 30_000,
  // Replicas drop out of the ISR briefly during restarts and leader moves.
  underReplicatedForMs: 60_000,
  // Under min ISR, acks=all producers are failing right now: no grace period.
  underMinIsrForMs: 0,
  // Elections take well under this; longer means the cluster cannot change metadata.
  noControllerForMs: 10_000,
  // Lag is normal in bursts; a consumer that stays this far behind for minutes is not keeping up.
  consumerLagMax: 10_000,
  consumerLagForMs: 300_000,
};

/** Rules with one instance per partition stop listing instances past this many (the count is in the description). */
const maxInstancesPerRule = 1000;

function partitionInstances(health: ClusterHealth, test: (p: ClusterHealth['partitions'][number]) => boolean, describe: (p: ClusterHealth['partitions'][number]) => string): AlertInstance[] {
  const instances: AlertInstance[] = [];
  for (const partition of health.partitions) {
    if (!test(partition)) continue;
    if (instances.length >= maxInstancesPerRule) break;
    instances.push({ labels: { topic: partition.topic, partition: String(partition.partition) }, description: describe(partition) });
  }
  return instances;
}

export function builtInAlertRules(thresholds: AlertThresholds = defaultAlertThresholds): AlertRule[] {
  return [
    {
      name: 'TideBrokerDown',
      severity: 'critical',
      forMs: thresholds.brokerDownForMs,
      summary: 'A registered broker is fenced (not heartbeating)',
      evaluate: (health) => health.brokers
        .filter((broker) => broker.state !== 'online')
        .map((broker) => ({ labels: { broker: String(broker.nodeId) }, description: `broker ${broker.nodeId} (${broker.host}:${broker.port}) is ${broker.state}` })),
    },
    {
      name: 'TideNoActiveController',
      severity: 'critical',
      forMs: thresholds.noControllerForMs,
      summary: 'The cluster has no active controller',
      evaluate: (health) => (health.controllerActive ? [] : [{ labels: {}, description: `controller id is ${health.controllerId}, which is not a live broker` }]),
    },
    {
      name: 'TideOfflinePartition',
      severity: 'critical',
      forMs: 0,
      summary: 'A partition has no live leader: it can be neither written nor read',
      evaluate: (health) => partitionInstances(health, (p) => p.offline, (p) => `${p.topic}-${p.partition} has no live leader (leader ${p.leader}, replicas ${p.replicas.join(',')})`),
    },
    {
      name: 'TideUnderMinIsrPartition',
      severity: 'critical',
      forMs: thresholds.underMinIsrForMs,
      summary: 'A partition has fewer in-sync replicas than min.insync.replicas: acks=all produce fails',
      evaluate: (health) => partitionInstances(health, (p) => p.underMinIsr, (p) => `${p.topic}-${p.partition} has ${p.isr.length} in-sync replica(s), min.insync.replicas is ${p.minInsyncReplicas}`),
    },
    {
      name: 'TideUnderReplicatedPartition',
      severity: 'warning',
      forMs: thresholds.underReplicatedForMs,
      summary: 'A partition has replicas outside its ISR',
      evaluate: (health) => partitionInstances(health, (p) => p.underReplicated, (p) => `${p.topic}-${p.partition} ISR ${p.isr.join(',')} of replicas ${p.replicas.join(',')}`),
    },
    {
      name: 'TideConsumerLag',
      severity: 'warning',
      forMs: thresholds.consumerLagForMs,
      summary: `A consumer group partition is more than ${thresholds.consumerLagMax} messages behind (alert.consumer.lag.max)`,
      evaluate: (health) => (health.consumerLag ?? [])
        .filter((entry) => entry.lag > thresholds.consumerLagMax)
        .slice(0, maxInstancesPerRule)
        .map((entry) => ({
          labels: { group: entry.groupId, topic: entry.topic, partition: String(entry.partition) },
          description: `group ${entry.groupId} is ${entry.lag} messages behind on ${entry.topic}-${entry.partition} (above ${thresholds.consumerLagMax})`,
        })),
    },
    {
      name: 'TideDiskAboveMaxUsedRatio',
      severity: 'critical',
      forMs: 0,
      summary: 'The data disk is fuller than disk.max.used.ratio: appends are refused',
      evaluate: (health) => (health.disk.usedRatio > health.disk.maxUsedRatio
        ? [{ labels: { node: String(health.nodeId) }, description: `disk ${(health.disk.usedRatio * 100).toFixed(1)}% used, above disk.max.used.ratio ${health.disk.maxUsedRatio}` }]
        : []),
    },
  ];
}
