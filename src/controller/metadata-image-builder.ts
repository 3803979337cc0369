// Replays committed metadata records into the image every node reads. Pure and deterministic: the
// same records at the same offsets give the same image on every node, so a record that does not
// fit the current state (a stale broker epoch, a partition of a removed topic) is skipped the same
// way everywhere instead of crashing each node that replays it. A snapshot holds the whole state
// at `appliedOffset`; restoring it equals replaying the log up to there.
import type { BrokerMetadata, MetadataImage, PartitionMetadata, TopicMetadata } from './metadata-image.ts';
import { MalformedMetadataRecordError, validateRecord, type MetadataRecord, type PartitionRecord } from './metadata-records.ts';

/** A broker as the cluster metadata knows it: the public part plus what fences its requests. */
export interface RegisteredBroker extends BrokerMetadata {
  incarnationId: string;
  brokerEpoch: number;
  internalHost: string;
  internalPort: number;
  /** Log offset of the registration record; the broker is unfenced once it has replayed up to here. */
  registeredAtOffset: number;
  /** Its storage is full (the disk guard refuses appends): it should not lead while a live ISR member with room can. */
  storageFull: boolean;
}

/** The image as replayed from the metadata log; a MetadataImage with what the controller needs. */
export interface ClusterMetadataImage extends MetadataImage {
  brokers: ReadonlyMap<number, RegisteredBroker>;
  /** Offset of the last entry applied; -1 before any. */
  appliedOffset: number;
  /** The first producer id no block has handed out yet. */
  nextProducerId: number;
  /** Highest broker epoch ever registered; the next registration gets a larger one. -1 before any. */
  highestBrokerEpoch: number;
}

export function isClusterMetadataImage(image: MetadataImage): image is ClusterMetadataImage {
  const candidate = image as Partial<ClusterMetadataImage>;
  return typeof candidate.appliedOffset === 'number' && typeof candidate.nextProducerId === 'number' && typeof candidate.highestBrokerEpoch === 'number';
}

const snapshotVersion = 1;
export const metadataSnapshotBytesMax = 512 * 1024 * 1024;

/** `storageFull` absent (a snapshot written before it existed): not full. */
interface SnapshotBroker { record: Extract<MetadataRecord, { type: 'register-broker' }>; fenced: boolean; registeredAtOffset: number; storageFull?: boolean }
interface SnapshotTopic { record: Extract<MetadataRecord, { type: 'topic' }>; partitions: PartitionRecord[] }
interface SnapshotBody {
  v: number;
  appliedOffset: number;
  clusterId: string;
  nextProducerId: number;
  highestBrokerEpoch: number;
  brokers: SnapshotBroker[];
  topics: SnapshotTopic[];
}

export class MetadataImageBuilder {
  private clusterId = '';
  private controllerId = -1;
  private readonly brokers = new Map<number, RegisteredBroker>();
  // Topic objects are replaced, never mutated, once an image has handed them out.
  private readonly topicsById = new Map<string, TopicMetadata>();
  private readonly topicIdsByName = new Map<string, string>();
  private nextProducerId = 0;
  private highestBrokerEpoch = -1;
  private lastOffset = -1;
  private skipped = 0;
  private cached: ClusterMetadataImage | null = null;

  get appliedOffset(): number {
    return this.lastOffset;
  }

  /** Records skipped because they did not fit the state they were applied to (same on every node). */
  get skippedRecords(): number {
    return this.skipped;
  }

  /** Applies one committed entry's records. Offsets must increase; an entry is applied once. */
  apply(records: MetadataRecord[], logOffset: number): void {
    if (!Number.isSafeInteger(logOffset) || logOffset <= this.lastOffset) {
      throw new Error(`metadata entry at offset ${logOffset} applied after offset ${this.lastOffset}: entries must be applied once, in order`);
    }
    for (const record of records) this.applyRecord(record, logOffset);
    this.lastOffset = logOffset;
    this.cached = null;
  }

  /** The Raft leader is not in the log; the node that knows it sets it here. -1: none known. */
  setControllerId(controllerId: number): void {
    if (controllerId === this.controllerId) return;
    this.controllerId = controllerId;
    this.cached = null;
  }

  image(): ClusterMetadataImage {
    if (this.cached !== null) return this.cached;
    const topics = [...this.topicsById.values()];
    this.cached = {
      clusterId: this.clusterId,
      controllerId: this.controllerId,
      brokers: new Map(this.brokers),
      topicsByName: new Map(topics.map((topic) => [topic.name, topic])),
      topicsById: new Map(this.topicsById),
      appliedOffset: this.lastOffset,
      nextProducerId: this.nextProducerId,
      highestBrokerEpoch: this.highestBrokerEpoch,
    };
    return this.cached;
  }

  snapshot(): Uint8Array {
    const body: SnapshotBody = {
      v: snapshotVersion,
      appliedOffset: this.lastOffset,
      clusterId: this.clusterId,
      nextProducerId: this.nextProducerId,
      highestBrokerEpoch: this.highestBrokerEpoch,
      brokers: [...this.brokers.values()].map((broker) => ({
        record: {
          type: 'register-broker', nodeId: broker.nodeId, incarnationId: broker.incarnationId, brokerEpoch: broker.brokerEpoch,
          host: broker.host, port: broker.port, rack: broker.rack, internalHost: broker.internalHost, internalPort: broker.internalPort,
        },
        fenced: broker.fenced,
        registeredAtOffset: broker.registeredAtOffset,
        storageFull: broker.storageFull,
      })),
      topics: [...this.topicsById.values()].map((topic) => ({
        record: { type: 'topic', name: topic.name, topicId: topic.topicId, configs: topic.configs, internal: topic.internal },
        partitions: topic.partitions.map((partition) => partitionRecord(topic.topicId, partition)),
      })),
    };
    const bytes = Buffer.from(JSON.stringify(body), 'utf8');
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  /** Rebuilds the state a snapshot holds; throws on anything malformed (the snapshot is then unusable). */
  static fromSnapshot(data: Uint8Array): MetadataImageBuilder {
    if (data.length > metadataSnapshotBytesMax) throw new MalformedMetadataRecordError(`snapshot of ${data.length} bytes exceeds ${metadataSnapshotBytesMax}`);
    let body: Partial<SnapshotBody>;
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)) as Partial<SnapshotBody>;
    } catch (error) {
      throw new MalformedMetadataRecordError(`snapshot is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof body !== 'object' || body === null || body.v !== snapshotVersion) throw new MalformedMetadataRecordError('unsupported metadata snapshot version');
    const { appliedOffset, clusterId, nextProducerId, highestBrokerEpoch, brokers, topics } = body;
    if (!Number.isSafeInteger(appliedOffset) || appliedOffset! < -1) throw new MalformedMetadataRecordError('snapshot appliedOffset is not an offset');
    if (typeof clusterId !== 'string' || clusterId.length > 1024) throw new MalformedMetadataRecordError('snapshot clusterId is not a string');
    if (!Number.isSafeInteger(nextProducerId) || nextProducerId! < 0) throw new MalformedMetadataRecordError('snapshot nextProducerId is not a producer id');
    if (!Number.isSafeInteger(highestBrokerEpoch) || highestBrokerEpoch! < -1) throw new MalformedMetadataRecordError('snapshot highestBrokerEpoch is not an epoch');
    if (!Array.isArray(brokers) || !Array.isArray(topics)) throw new MalformedMetadataRecordError('snapshot lacks brokers or topics');

    const builder = new MetadataImageBuilder();
    if (clusterId !== '') builder.applyRecord({ type: 'cluster', clusterId }, appliedOffset!);
    brokers.forEach((broker: SnapshotBroker, index) => {
      if (typeof broker !== 'object' || broker === null) throw new MalformedMetadataRecordError(`snapshot broker ${index} is not an object`);
      validateRecord(broker.record, index);
      const storageFull = broker.storageFull ?? false;
      if (broker.record.type !== 'register-broker' || typeof broker.fenced !== 'boolean' || !Number.isSafeInteger(broker.registeredAtOffset) || typeof storageFull !== 'boolean') {
        throw new MalformedMetadataRecordError(`snapshot broker ${index} is malformed`);
      }
      if (builder.brokers.has(broker.record.nodeId)) throw new MalformedMetadataRecordError(`snapshot repeats broker ${broker.record.nodeId}`);
      builder.applyRecord(broker.record, broker.registeredAtOffset);
      if (!broker.fenced) builder.applyRecord({ type: 'unfence-broker', nodeId: broker.record.nodeId, brokerEpoch: broker.record.brokerEpoch }, appliedOffset!);
      if (storageFull) builder.applyRecord({ type: 'broker-storage', nodeId: broker.record.nodeId, brokerEpoch: broker.record.brokerEpoch, full: true }, appliedOffset!);
    });
    topics.forEach((topic: SnapshotTopic, index) => {
      if (typeof topic !== 'object' || topic === null || !Array.isArray(topic.partitions)) throw new MalformedMetadataRecordError(`snapshot topic ${index} is malformed`);
      validateRecord(topic.record, index);
      if (topic.record.type !== 'topic') throw new MalformedMetadataRecordError(`snapshot topic ${index} is not a topic record`);
      const before = builder.skipped;
      builder.applyRecord(topic.record, appliedOffset!);
      topic.partitions.forEach((partition, partitionIndex) => {
        validateRecord(partition, partitionIndex);
        if (partition.type !== 'partition' || partition.topicId !== topic.record.topicId || partition.partition !== partitionIndex) {
          throw new MalformedMetadataRecordError(`snapshot topic ${topic.record.name} partition ${partitionIndex} is malformed`);
        }
        builder.applyRecord(partition, appliedOffset!);
      });
      if (builder.skipped !== before) throw new MalformedMetadataRecordError(`snapshot topic ${index} contradicts the rest of the snapshot`);
    });
    builder.nextProducerId = nextProducerId!;
    builder.highestBrokerEpoch = Math.max(highestBrokerEpoch!, builder.highestBrokerEpoch);
    builder.lastOffset = appliedOffset!;
    builder.cached = null;
    return builder;
  }

  private applyRecord(record: MetadataRecord, logOffset: number): void {
    switch (record.type) {
      case 'cluster':
        // The cluster id is fixed by the first record; a later one cannot rename the cluster.
        if (this.clusterId === '') this.clusterId = record.clusterId;
        else if (this.clusterId !== record.clusterId) this.skipped++;
        return;
      case 'register-broker': {
        const existing = this.brokers.get(record.nodeId);
        if (existing !== undefined && existing.brokerEpoch >= record.brokerEpoch) {
          this.skipped++;
          return;
        }
        // A new registration starts fenced: the broker serves only once it has caught up.
        this.brokers.set(record.nodeId, {
          nodeId: record.nodeId, host: record.host, port: record.port, rack: record.rack, fenced: true,
          incarnationId: record.incarnationId, brokerEpoch: record.brokerEpoch, internalHost: record.internalHost,
          internalPort: record.internalPort, registeredAtOffset: logOffset, storageFull: false,
        });
        this.highestBrokerEpoch = Math.max(this.highestBrokerEpoch, record.brokerEpoch);
        return;
      }
      case 'fence-broker':
      case 'unfence-broker': {
        const broker = this.brokers.get(record.nodeId);
        if (broker === undefined || broker.brokerEpoch !== record.brokerEpoch) {
          this.skipped++;
          return;
        }
        this.brokers.set(record.nodeId, { ...broker, fenced: record.type === 'fence-broker' });
        return;
      }
      case 'broker-storage': {
        const broker = this.brokers.get(record.nodeId);
        // A report of an older registration says nothing about the current one.
        if (broker === undefined || broker.brokerEpoch !== record.brokerEpoch) {
          this.skipped++;
          return;
        }
        this.brokers.set(record.nodeId, { ...broker, storageFull: record.full });
        return;
      }
      case 'topic':
        if (this.topicsById.has(record.topicId) || this.topicIdsByName.has(record.name)) {
          this.skipped++;
          return;
        }
        this.topicsById.set(record.topicId, { name: record.name, topicId: record.topicId, partitions: [], configs: { ...record.configs }, internal: record.internal });
        this.topicIdsByName.set(record.name, record.topicId);
        return;
      case 'remove-topic': {
        const topic = this.topicsById.get(record.topicId);
        if (topic === undefined) {
          this.skipped++;
          return;
        }
        this.topicsById.delete(record.topicId);
        this.topicIdsByName.delete(topic.name);
        return;
      }
      case 'partition': {
        const topic = this.topicsById.get(record.topicId);
        // Partitions are numbered without gaps: a record either replaces one or adds the next.
        if (topic === undefined || record.partition > topic.partitions.length) {
          this.skipped++;
          return;
        }
        const partitions = [...topic.partitions];
        partitions[record.partition] = {
          partition: record.partition, replicas: [...record.replicas], isr: [...record.isr], leader: record.leader,
          leaderEpoch: record.leaderEpoch, partitionEpoch: record.partitionEpoch,
        };
        this.topicsById.set(topic.topicId, { ...topic, partitions });
        return;
      }
      case 'topic-config': {
        const topic = this.topicsById.get(record.topicId);
        if (topic === undefined) {
          this.skipped++;
          return;
        }
        this.topicsById.set(topic.topicId, { ...topic, configs: { ...record.configs } });
        return;
      }
      case 'producer-id-block':
        this.nextProducerId = Math.max(this.nextProducerId, record.firstId + record.size);
        return;
      default: {
        const unknown: never = record;
        throw new Error(`unknown metadata record ${JSON.stringify(unknown)}`);
      }
    }
  }
}

export function partitionRecord(topicId: string, partition: PartitionMetadata): PartitionRecord {
  return {
    type: 'partition', topicId, partition: partition.partition, replicas: [...partition.replicas], isr: [...partition.isr],
    leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch,
  };
}
