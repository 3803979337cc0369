// Every configuration key Tide knows, with its type, default, limits and documentation.
// docs/configuration.md is generated from this table (scripts/gen-config-doc.ts), so the two never drift.

export type ConfigType = 'int' | 'long' | 'string' | 'bool' | 'ratio' | 'hostport' | 'enum' | 'list';

export interface ConfigDefinition {
  key: string;
  type: ConfigType;
  default: string | number | boolean | null;
  doc: string;
  min?: number;
  max?: number;
  values?: readonly string[];          // for enum
  /** The topic-level key this broker key is the default of (e.g. log.retention.ms → retention.ms). */
  topicKey?: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

export const brokerConfigDefinitions: readonly ConfigDefinition[] = [
  { key: 'node.id', type: 'int', default: 1, min: 0, max: 2_147_483_647, doc: 'This node\'s id, unique in the cluster.' },
  { key: 'data.dir', type: 'string', default: './tide-data', doc: 'Directory holding every partition, checkpoints and the metadata log. Locked while the node runs.' },
  { key: 'listen', type: 'hostport', default: '127.0.0.1:9092', doc: 'Kafka protocol listener (host:port). Use 0.0.0.0 to listen on every interface.' },
  { key: 'advertise', type: 'hostport', default: null, doc: 'host:port that clients are told to connect to (Metadata). Defaults to the listen address (127.0.0.1 when listening on 0.0.0.0).' },
  { key: 'http.listen', type: 'hostport', default: '127.0.0.1:8080', doc: 'HTTP listener for the dashboard, REST API, /metrics, /healthz and /readyz.' },
  { key: 'cluster.id', type: 'string', default: null, doc: 'Cluster id written to meta.properties on first start (generated when unset). A data dir from another cluster is refused.' },

  { key: 'controller.quorum.voters', type: 'string', default: null, doc: 'The controller quorum as id@host:port,id@host:port,... (the controller.listen address of each voter). Set: the node joins that cluster (a voter when its node.id is listed, else an observer). Unset: a single node that is its own controller.' },
  { key: 'controller.listen', type: 'hostport', default: null, doc: 'Internal listener for Raft and controller requests between nodes (host:port). Defaults to this node\'s address in controller.quorum.voters; an observer needs none.' },
  { key: 'outbound.local.host', type: 'string', default: null, doc: 'Source address of every connection this node opens to other nodes (Raft and controller links, AlterPartition, replica fetches from partition leaders). Unset: the operating system picks. Set it on a multi-homed host to keep node-to-node traffic on one interface; the fault harness gives each node its own 127.0.1.x so that a proxy can cut links per source node.' },
  { key: 'controller.election.timeout.ms', type: 'int', default: 1000, min: 200, max: 60_000, doc: 'A follower that hears nothing from the active controller for this long (plus a random part of it) starts an election.' },
  { key: 'controller.rpc.timeout.ms', type: 'int', default: 15_000, min: 500, max: 300_000, doc: 'How long a node keeps trying to reach the active controller for a forwarded request (CreateTopics, registration ...) before it answers REQUEST_TIMED_OUT.' },
  { key: 'controller.snapshot.every.entries', type: 'int', default: 10_000, min: 10, doc: 'Take a snapshot of the metadata image (and compact the metadata log) after this many entries.' },
  { key: 'broker.rack', type: 'string', default: null, doc: 'Rack or zone of this node; placement spreads a partition\'s replicas over racks.' },
  { key: 'broker.heartbeat.interval.ms', type: 'int', default: 1000, min: 50, max: 60_000, doc: 'How often a broker heartbeats to the active controller (cluster mode).' },
  { key: 'broker.session.timeout.ms', type: 'int', default: 6000, min: 500, max: 600_000, doc: 'A broker whose last heartbeat is older than this is fenced and loses its leaderships (cluster mode).' },
  { key: 'broker.connection.loss.fence.ms', type: 'int', default: 500, min: 0, max: 600_000, doc: 'When the connection a broker heartbeats over closes (a killed process\'s sockets close at once) and the broker does not heartbeat again within this long, the controller fences it without waiting for broker.session.timeout.ms; a new active controller likewise fences a broker that has not heartbeated to it within max(1 s, twice this long) of taking over (live brokers heartbeat to it at once). 0 turns both off (only the session fences). Hangs and pauses keep the connection open and are left to the session timeout (cluster mode).' },

  { key: 'socket.request.max.bytes', type: 'int', default: 100 * MiB, min: 1024, max: 1 * GiB, doc: 'Largest request frame accepted; checked against the 4-byte size prefix before anything is allocated. A larger frame closes the connection.' },
  { key: 'queued.max.requests.per.connection', type: 'int', default: 100, min: 1, max: 10_000, doc: 'Requests in flight on one connection; reading from the socket pauses while this many are unanswered.' },
  { key: 'connections.max.idle.ms', type: 'long', default: 600_000, min: 1000, doc: 'Connections idle for this long are closed.' },
  { key: 'max.connections', type: 'int', default: 10_000, min: 1, doc: 'Connections accepted at once on the Kafka listener; more are closed on accept with a log line.' },
  { key: 'max.connections.per.ip', type: 'int', default: 1000, min: 1, doc: 'Connections accepted at once from one IP address.' },
  { key: 'shutdown.timeout.ms', type: 'long', default: 5000, min: 0, doc: 'On SIGTERM/SIGINT, how long in-flight requests may take to finish before the node closes anyway.' },

  { key: 'preset', type: 'enum', default: null, values: ['single', 'multi-master', 'async-replica', 'sync-replica'], doc: 'HA preset for the whole cluster (docs/high-availability.md): sets the defaults default.replication.factor, min.insync.replicas and log.flush unless those are set explicitly. single: RF 1, min ISR 1, async. multi-master: RF 1, a partition per broker, async. async-replica: RF 2, min ISR 1, async. sync-replica: RF 3, min ISR 2, sync. A preset RF is capped at the brokers available; a topic can pick its own with the topic config preset.' },
  { key: 'auto.create.topics.enable', type: 'bool', default: true, doc: 'Create a topic when a client asks Metadata for one that does not exist (if the client allows it).' },
  { key: 'num.partitions', type: 'int', default: 1, min: 1, max: 10_000, doc: 'Partitions of automatically created topics, and of CreateTopics requests that give -1.' },
  { key: 'default.replication.factor', type: 'int', default: 1, min: 1, max: 32, doc: 'Replication factor of automatically created topics, and of CreateTopics requests that give -1.' },
  { key: 'max.partitions.per.topic', type: 'int', default: 10_000, min: 1, doc: 'Upper limit on a topic\'s partition count (CreateTopics / CreatePartitions beyond it get INVALID_PARTITIONS).' },

  { key: 'log.segment.bytes', type: 'int', default: 1 * GiB, min: 14 + 1024, max: 2 * GiB - 1, topicKey: 'segment.bytes', doc: 'A segment rolls when appending would make it larger than this.' },
  { key: 'log.roll.ms', type: 'long', default: 7 * dayMs, min: 1, topicKey: 'segment.ms', doc: 'A segment rolls once its first batch is older than this.' },
  { key: 'log.retention.ms', type: 'long', default: 7 * dayMs, min: -1, topicKey: 'retention.ms', doc: 'Whole segments whose newest batch is older than this are deleted, never past the high watermark (-1: keep forever).' },
  { key: 'log.retention.bytes', type: 'long', default: -1, min: -1, topicKey: 'retention.bytes', doc: 'Oldest segments are deleted while a partition is larger than this, never past the high watermark (-1: no size limit).' },
  { key: 'log.retention.check.interval.ms', type: 'long', default: 300_000, min: 100, doc: 'How often retention runs in the background.' },
  { key: 'message.max.bytes', type: 'int', default: 1_048_588, min: 0, max: 1 * GiB, topicKey: 'max.message.bytes', doc: 'Largest record batch accepted (after the client\'s compression); larger batches get MESSAGE_TOO_LARGE.' },
  { key: 'log.flush', type: 'enum', default: 'async', values: ['sync', 'async'], topicKey: 'flush', doc: 'sync: a batch is fsynced (group commit) before it is acknowledged. async: fsync every log.flush.interval.ms, on segment roll and on close.' },
  { key: 'log.flush.interval.ms', type: 'long', default: 1000, min: 1, topicKey: 'flush.ms', doc: 'With flush=async, the longest time written data stays un-fsynced.' },
  { key: 'log.index.interval.bytes', type: 'int', default: 4096, min: 1, max: 64 * MiB, topicKey: 'index.interval.bytes', doc: 'Bytes of log between two entries of the sparse offset index.' },
  { key: 'log.cleanup.policy', type: 'list', default: 'delete', values: ['delete', 'compact'], topicKey: 'cleanup.policy', doc: 'delete: retention by time and size deletes old segments. compact: the log cleaner keeps the latest record of each key (offsets unchanged). compact,delete: both.' },
  { key: 'log.cleaner.enable', type: 'bool', default: true, doc: 'Run the log cleaner, which compacts topics with cleanup.policy=compact in the background.' },
  { key: 'log.cleaner.backoff.ms', type: 'long', default: 15_000, min: 1, doc: 'How long the log cleaner sleeps when no partition needs compacting.' },
  { key: 'log.cleaner.io.max.bytes.per.second', type: 'long', default: 64 * MiB, min: 1024, doc: 'Bytes per second the log cleaner may read plus write, so compaction never starves produce and fetch.' },
  { key: 'log.cleaner.dedupe.buffer.size', type: 'long', default: 128 * MiB, min: 1024, max: 8 * GiB, doc: 'Memory for one compaction pass\'s key-to-offset map; a pass over more keys cleans fewer segments and the next pass continues.' },
  { key: 'log.cleaner.min.cleanable.ratio', type: 'ratio', default: 0.5, min: 0, max: 1, topicKey: 'min.cleanable.dirty.ratio', doc: 'A partition is compacted once its not-yet-compacted bytes are at least this share of its compactable bytes.' },
  { key: 'log.cleaner.delete.retention.ms', type: 'long', default: dayMs, min: 0, topicKey: 'delete.retention.ms', doc: 'A tombstone (a record with a null value) stays this long after the newest record of its segment, so consumers can see the delete, before compaction removes it.' },
  { key: 'log.cleaner.min.compaction.lag.ms', type: 'long', default: 0, min: 0, topicKey: 'min.compaction.lag.ms', doc: 'Segments whose newest record is younger than this are not compacted yet.' },
  { key: 'log.scrub.enable', type: 'bool', default: true, doc: 'Run the scrubber, which reads every partition log back and checks its CRCs in the background (after each start, then every log.scrub.interval.ms), so damage in data nobody reads is found and repaired from the other replicas.' },
  { key: 'log.scrub.bytes.per.second', type: 'long', default: 16 * MiB, min: 1024, doc: 'Bytes per second the scrubber may read.' },
  { key: 'log.scrub.interval.ms', type: 'long', default: dayMs, min: 1000, doc: 'Time from the end of a partition log\'s scrub to the start of its next one.' },
  { key: 'log.scrub.startup.fenced.max.ms', type: 'long', default: 30_000, min: 0, doc: 'Cluster mode: after a start the node stays fenced (leads nothing, joins no ISR) while the scrubber\'s first pass runs at disk speed, so damage in its logs is found before it can be elected; only while another broker is unfenced, and at most this long (0: never).' },
  { key: 'min.insync.replicas', type: 'int', default: 1, min: 1, max: 32, topicKey: 'min.insync.replicas', doc: 'acks=all produce needs at least this many in-sync replicas.' },
  { key: 'unclean.leader.election.enable', type: 'bool', default: false, topicKey: 'unclean.leader.election.enable', doc: 'Allow a replica outside the ISR to become leader (may lose acknowledged data).' },
  { key: 'auto.leader.rebalance.enable', type: 'bool', default: true, doc: 'Preferred leader balancing (cluster mode): the active controller gives leadership back to each partition\'s preferred (first) replica once it is live and in the ISR, for brokers above leader.imbalance.per.broker.percentage, every leader.imbalance.check.interval.seconds.' },
  { key: 'leader.imbalance.check.interval.seconds', type: 'int', default: 30, min: 1, max: 86_400, doc: 'How often the active controller checks leader balance (Kafka: 300). Tide checks more often because a move copies no data: it bumps the leader epoch and clients refresh metadata.' },
  { key: 'leader.imbalance.per.broker.percentage', type: 'int', default: 10, min: 0, max: 100, doc: 'A broker gets its preferred leaderships back only when the share of partitions it is preferred for but does not lead is above this percentage (0: any imbalance).' },
  { key: 'replica.lag.time.max.ms', type: 'long', default: 10_000, min: 100, doc: 'A follower that has not caught up with the leader\'s log end for this long leaves the ISR (cluster mode).' },
  { key: 'replica.backlog.max.bytes', type: 'int', default: 4 * MiB, min: 0, max: 1 * GiB, doc: 'Per partition, on its leader: once this many bytes are not yet on every ISR member (above the high watermark), an acks=all produce request for the partition waits, before it is appended and in arrival order, until the followers catch up or its timeout passes (REQUEST_TIMED_OUT, nothing written). Keeps the backlog within one follower fetch (4 MiB per partition), so followers that keep pace are not dropped from the ISR when clients keep more in flight than replication carries. acks=0 and acks=1 requests are never held. 0 turns it off (cluster mode).' },
  { key: 'disk.max.used.ratio', type: 'ratio', default: 0.9, min: 0.01, max: 1, doc: 'Appends are refused (KAFKA_STORAGE_ERROR) while the data dir\'s file system is fuller than this; in a cluster the node then reports full storage and the controller moves its leaderships to in-sync replicas with room.' },
  { key: 'alert.webhook.urls', type: 'string', default: null, doc: 'Comma-separated http(s) URLs that receive each alert firing/resolved as a JSON POST (retried, never blocks the broker).' },
  { key: 'alert.evaluation.interval.ms', type: 'long', default: 5000, min: 100, doc: 'How often the built-in alert rules are evaluated.' },
  { key: 'alert.under.replicated.for.ms', type: 'long', default: 60_000, min: 0, doc: 'An under-replicated partition alerts after staying so for this long.' },
  { key: 'alert.under.min.isr.for.ms', type: 'long', default: 0, min: 0, doc: 'A partition below min.insync.replicas alerts after staying so for this long.' },
  { key: 'alert.broker.down.for.ms', type: 'long', default: 30_000, min: 0, doc: 'A fenced (down) broker alerts after staying so for this long.' },
  { key: 'alert.no.controller.for.ms', type: 'long', default: 10_000, min: 0, doc: 'No active controller alerts after this long.' },
  { key: 'alert.consumer.lag.max', type: 'long', default: 10_000, min: 0, doc: 'A consumer group partition whose lag (high watermark minus committed offset) is above this many messages alerts (after alert.consumer.lag.for.ms).' },
  { key: 'alert.consumer.lag.for.ms', type: 'long', default: 300_000, min: 0, doc: 'Consumer lag above alert.consumer.lag.max alerts after staying so for this long.' },
  { key: 'fetch.max.wait.ms.max', type: 'long', default: 30_000, min: 0, doc: 'Upper bound on the long-poll time a Fetch may ask for.' },

  { key: 'offsets.topic.num.partitions', type: 'int', default: 50, min: 1, max: 1000, doc: 'Partitions of the internal __consumer_offsets topic, created at first start. A group is coordinated by the leader of partition abs(hash(group)) % this. Changing it later does not move existing groups.' },
  { key: 'offsets.topic.replication.factor', type: 'int', default: 3, min: 1, max: 32, doc: 'Replication factor of __consumer_offsets when it is created, capped at the number of brokers available then.' },
  { key: 'offsets.topic.segment.bytes', type: 'int', default: 100 * MiB, min: 14 + 1024, max: 2 * GiB - 1, doc: 'Segment size of __consumer_offsets (small, so that old segments can be cleaned up early).' },
  { key: 'offsets.commit.timeout.ms', type: 'int', default: 5000, min: 1, max: 300_000, doc: 'In a cluster, an offset commit or group write is answered only once every in-sync replica of its __consumer_offsets partition has it (acks=all, with that topic\'s min.insync.replicas); after this long the append counts as timed out: an offset commit answers COORDINATOR_NOT_AVAILABLE, a group write REBALANCE_IN_PROGRESS (as Kafka), and the client retries.' },
  { key: 'replica.high.watermark.checkpoint.interval.ms', type: 'int', default: 5000, min: 100, max: 3_600_000, doc: 'In a cluster, how often each node writes the high watermarks of its partitions to replication-offset-checkpoint in the data dir (and at clean shutdown); a restarted node starts from them instead of treating its whole log as uncommitted.' },
  { key: 'offsets.retention.minutes', type: 'int', default: 7 * 24 * 60, min: 1, doc: 'Committed offsets of a group that has no members are deleted this long after the group became empty (or after the commit, for groups that only store offsets).' },
  { key: 'offsets.retention.check.interval.ms', type: 'long', default: 600_000, min: 1, doc: 'How often each group coordinator looks for expired offsets.' },
  { key: 'offset.metadata.max.bytes', type: 'int', default: 4096, min: 0, max: 1 * MiB, doc: 'Longest metadata string a consumer may commit with an offset (OFFSET_METADATA_TOO_LARGE beyond it).' },
  { key: 'group.initial.rebalance.delay.ms', type: 'int', default: 3000, min: 0, doc: 'How long a new (empty) group waits for more members before its first rebalance completes, so that consumers starting together share one rebalance.' },
  { key: 'group.min.session.timeout.ms', type: 'int', default: 6000, min: 0, doc: 'Smallest session timeout a consumer may ask for (INVALID_SESSION_TIMEOUT below it).' },
  { key: 'group.max.session.timeout.ms', type: 'int', default: 1_800_000, min: 0, doc: 'Largest session timeout a consumer may ask for (INVALID_SESSION_TIMEOUT above it). Must not be below group.min.session.timeout.ms.' },
  { key: 'group.max.size', type: 'int', default: 10_000, min: 1, doc: 'Members one consumer group may have (GROUP_MAX_SIZE_REACHED beyond it). Kafka leaves it unbounded; every member costs memory.' },
];

export const topicConfigKeys = new Set(
  brokerConfigDefinitions.filter((d) => d.topicKey !== undefined).map((d) => d.topicKey as string),
);

export function definitionFor(key: string): ConfigDefinition | undefined {
  return brokerConfigDefinitions.find((d) => d.key === key);
}

export function brokerKeyForTopicKey(topicKey: string): ConfigDefinition | undefined {
  return brokerConfigDefinitions.find((d) => d.topicKey === topicKey);
}
