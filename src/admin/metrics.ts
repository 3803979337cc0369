// Prometheus metrics of one node. Traffic counters are bumped by the data path through the small
// functions below (recordRequest, recordBytesIn, recordBytesOut); everything describing state
// (partitions, offsets, disk, controller) is computed at scrape time from BrokerServices, so it
// can never drift from what the node actually holds.
//
// The traffic metrics live at module level because the data path has no handle on a registry; a
// process runs one node in production. In-process multi-node tests therefore see summed traffic
// (state gauges stay per node).
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { BrokerServices } from '../server/broker-services.ts';
import { clusterHealth, countPartitions } from './cluster-health.ts';
import { RequestHistogram } from './request-histogram.ts';
import type { GroupsView } from './groups-api.ts';

/** Topic label values kept on per-topic counters; beyond this a topic is counted only in the totals. */
const maxTopicLabels = 10_000;
/** Partitions exported with per-partition offset gauges; a huge node keeps only the totals. */
const maxPartitionSeries = 50_000;

// Data-path counts accumulate in plain numbers and reach the counters when scraped: a labelled
// inc() builds and hashes a label object, once per Produce request otherwise.
const pendingIn = { bytes: 0, messages: 0 };
const pendingTopicIn = new Map<string, { bytes: number; messages: number }>();
let pendingBytesOut = 0;

const bytesInTotal = new Counter({
  name: 'tide_broker_bytes_in_total', help: 'Record batch bytes appended by producers on this node.', registers: [],
  collect() { flushPendingIn(); },
});
const bytesOutTotal = new Counter({
  name: 'tide_broker_bytes_out_total', help: 'Record batch bytes sent to consumers by Fetch.', registers: [],
  collect() {
    if (pendingBytesOut > 0) this.inc(pendingBytesOut);
    pendingBytesOut = 0;
  },
});
const messagesInTotal = new Counter({
  name: 'tide_broker_messages_in_total', help: 'Records appended by producers on this node.', registers: [],
  collect() { flushPendingIn(); },
});
const topicBytesInTotal = new Counter({
  name: 'tide_topic_bytes_in_total', help: 'Record batch bytes appended by producers, per topic.', labelNames: ['topic'], registers: [],
  collect() { flushPendingIn(); },
});
const topicMessagesInTotal = new Counter({
  name: 'tide_topic_messages_in_total', help: 'Records appended by producers, per topic.', labelNames: ['topic'], registers: [],
  collect() { flushPendingIn(); },
});
const requestDuration = new RequestHistogram(
  'tide_request_duration_seconds',
  'Time from decoding a Kafka request to its response being ready (long-poll Fetch waits included).',
  'api',
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
);

function flushPendingIn(): void {
  if (pendingIn.bytes > 0 || pendingIn.messages > 0) {
    bytesInTotal.inc(pendingIn.bytes);
    messagesInTotal.inc(pendingIn.messages);
    pendingIn.bytes = 0;
    pendingIn.messages = 0;
  }
  for (const [topic, pending] of pendingTopicIn) {
    topicBytesInTotal.inc({ topic }, pending.bytes);
    topicMessagesInTotal.inc({ topic }, pending.messages);
  }
  pendingTopicIn.clear();
}
const leaderElectionsTotal = new Counter({ name: 'tide_leader_elections_total', help: 'Partition leader elections this node took part in as new leader.', registers: [] });
const uncleanLeaderElectionsTotal = new Counter({ name: 'tide_unclean_leader_elections_total', help: 'Unclean leader elections (a replica outside the ISR made leader; acknowledged data may be lost) committed by this node as active controller.', registers: [] });
const isrShrinksTotal = new Counter({ name: 'tide_isr_shrinks_total', help: 'Times a partition led by this node removed a replica from its ISR.', registers: [] });
const isrExpandsTotal = new Counter({ name: 'tide_isr_expands_total', help: 'Times a partition led by this node added a replica back to its ISR.', registers: [] });
const produceBacklogWaitsTotal = new Counter({ name: 'tide_produce_backlog_waits_total', help: 'acks=all produce requests that waited on this leader, before being appended, for the followers to catch up (replica.backlog.max.bytes).', registers: [] });

const scrubBytesTotal = new Counter({ name: 'tide_log_scrub_bytes_total', help: 'Bytes of partition logs the scrubber read back and CRC-checked.', registers: [] });
const scrubbedLogsTotal = new Counter({ name: 'tide_log_scrub_logs_total', help: 'Partition log scrubs finished (each reads one log from its start).', registers: [] });
const scrubDamageTotal = new Counter({ name: 'tide_log_scrub_damage_total', help: 'Scrubs that found damaged data (the replica then repairs it from the other replicas).', registers: [] });

const topicsWithLabels = new Set<string>();

/** Running totals, read by the dashboard's stats endpoint without going through the text format. */
export const trafficTotals = { bytesIn: 0, bytesOut: 0, messagesIn: 0 };

export function recordRequest(apiName: string, seconds: number): void {
  requestDuration.observe(apiName, seconds);
}

/** Records the duration of a request that started at `startedNs` (process.hrtime.bigint()) and ends now. */
export function timeRequest(apiName: string, startedNs: bigint): void {
  recordRequest(apiName, Number(process.hrtime.bigint() - startedNs) / 1e9);
}

export function recordBytesIn(topic: string, bytes: number, messages: number): void {
  pendingIn.bytes += bytes;
  pendingIn.messages += messages;
  trafficTotals.bytesIn += bytes;
  trafficTotals.messagesIn += messages;
  if (!topicsWithLabels.has(topic) && topicsWithLabels.size >= maxTopicLabels) return;
  topicsWithLabels.add(topic);
  const pending = pendingTopicIn.get(topic);
  if (pending === undefined) pendingTopicIn.set(topic, { bytes, messages });
  else {
    pending.bytes += bytes;
    pending.messages += messages;
  }
}

export function recordBytesOut(bytes: number): void {
  if (bytes <= 0) return;
  pendingBytesOut += bytes;
  trafficTotals.bytesOut += bytes;
}

export function recordLeaderElection(): void {
  leaderElectionsTotal.inc();
}

export function recordUncleanLeaderElection(): void {
  uncleanLeaderElectionsTotal.inc();
}

export function recordIsrShrink(): void {
  isrShrinksTotal.inc();
}

export function recordIsrExpand(): void {
  isrExpandsTotal.inc();
}

export function recordProduceBacklogWait(): void {
  produceBacklogWaitsTotal.inc();
}

export function recordScrubBytes(bytes: number): void {
  scrubBytesTotal.inc(bytes);
}

export function recordScrubbedLog(damageFound: boolean): void {
  scrubbedLogsTotal.inc();
  if (damageFound) scrubDamageTotal.inc();
}

/** Forgets the per-topic series of topics that no longer exist, so deleted topics stop being exported. */
function pruneTopicLabels(existing: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
  for (const topic of topicsWithLabels) {
    if (existing.has(topic)) continue;
    topicsWithLabels.delete(topic);
    pendingTopicIn.delete(topic);
    topicBytesInTotal.remove({ topic });
    topicMessagesInTotal.remove({ topic });
  }
}

export interface NodeMetrics {
  registry: Registry;
  /** One scrape in Prometheus text: every state gauge reads the same fresh snapshot. */
  scrape(): Promise<string>;
}

/** The registry served on /metrics for one node: traffic counters, state gauges and process metrics. */
export function createNodeMetrics(services: BrokerServices, groups: GroupsView | null = null, raftTerm: () => number | null = () => null): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: String(services.nodeId) });
  collectDefaultMetrics({ register: registry });
  for (const metric of [bytesInTotal, bytesOutTotal, messagesInTotal, topicBytesInTotal, topicMessagesInTotal, leaderElectionsTotal, uncleanLeaderElectionsTotal, isrShrinksTotal, isrExpandsTotal, produceBacklogWaitsTotal, scrubBytesTotal, scrubbedLogsTotal, scrubDamageTotal] as Metric<string>[]) {
    registry.registerMetric(metric);
  }
  // Registry only calls get() (and reads name and type): the shape prom-client's own metrics have.
  registry.registerMetric(requestDuration as unknown as Metric<string>);

  // One snapshot per scrape, shared by all gauges collected in that scrape.
  let snapshot: ReturnType<typeof clusterHealth> | null = null;
  const health = () => {
    snapshot ??= clusterHealth(services);
    return snapshot;
  };

  new Gauge({
    name: 'tide_partitions',
    help: 'Partitions of the cluster by state (online/offline, and the under_replicated and under_min_isr subsets of online).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = countPartitions(health().partitions);
      this.set({ state: 'online' }, counts.online);
      this.set({ state: 'offline' }, counts.offline);
      this.set({ state: 'under_replicated' }, counts.underReplicated);
      this.set({ state: 'under_min_isr' }, counts.underMinIsr);
      pruneTopicLabels(services.metadata.image().topicsByName);
    },
  });
  const offsetGauge = (name: string, help: string, read: (p: ReturnType<typeof clusterHealth>['partitions'][number]) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        let series = 0;
        for (const partition of health().partitions) {
          const value = read(partition);
          if (value === null) continue;
          if (++series > maxPartitionSeries) break;
          this.set({ topic: partition.topic, partition: String(partition.partition) }, value);
        }
      },
    });
  offsetGauge('tide_partition_high_watermark', 'High watermark of each partition hosted on this node.', (p) => p.highWatermark);
  offsetGauge('tide_partition_log_end_offset', 'Log end offset of each partition hosted on this node.', (p) => p.logEndOffset);
  offsetGauge('tide_partition_log_start_offset', 'Log start offset of each partition hosted on this node.', (p) => p.logStartOffset);
  new Gauge({
    name: 'tide_disk_used_ratio',
    help: 'Used fraction of the file system holding the data dir (appends are refused above disk.max.used.ratio).',
    registers: [registry],
    collect() {
      this.set(services.diskGuard.ratio);
    },
  });
  new Gauge({
    name: 'tide_disk_max_used_ratio',
    help: 'The configured disk.max.used.ratio.',
    registers: [registry],
    collect() {
      this.set(health().disk.maxUsedRatio);
    },
  });
  new Gauge({
    name: 'tide_raft_term',
    help: 'Term of the Raft metadata quorum as this node sees it (0 on a single node, which has no quorum).',
    registers: [registry],
    collect() {
      this.set(raftTerm() ?? 0);
    },
  });
  new Gauge({
    name: 'tide_controller_active',
    help: '1 when this node is the active controller, else 0.',
    registers: [registry],
    collect() {
      const current = health();
      this.set(current.controllerActive && current.controllerId === services.nodeId ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tide_brokers',
    help: 'Brokers registered in the metadata, by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const brokers = health().brokers;
      this.set({ state: 'online' }, brokers.filter((b) => b.state === 'online').length);
      this.set({ state: 'fenced' }, brokers.filter((b) => b.state === 'fenced').length);
    },
  });
  new Gauge({
    name: 'tide_consumer_group_lag',
    help: 'Messages between a group\'s committed offset and the high watermark, per partition, for the groups this node coordinates.',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    collect() {
      // Reset first: a group that was deleted, or whose offsets expired, must stop being exported.
      this.reset();
      let series = 0;
      for (const entry of groups?.lagSnapshot() ?? []) {
        if (++series > maxPartitionSeries) break;
        this.set({ group: entry.groupId, topic: entry.topic, partition: String(entry.partition) }, entry.lag);
      }
    },
  });
  return {
    registry,
    async scrape() {
      snapshot = null;
      try {
        return await registry.metrics();
      } finally {
        snapshot = null;
      }
    },
  };
}
