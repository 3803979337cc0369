// A controller driven by an in-memory "Raft log": propose() encodes the records (so everything the
// controller writes must survive the codec), appends them and applies them to a MetadataImageBuilder,
// as the real driver does once an entry is committed. Time is a number the test moves.
import { MetadataImageBuilder } from '../../src/controller/metadata-image-builder.ts';
import { decodeRecords, encodeRecords, type MetadataRecord } from '../../src/controller/metadata-records.ts';
import { QuorumController, type BrokerRegistrationRequest, type ControllerDeps } from '../../src/controller/quorum-controller.ts';
import type { TopicLimits } from '../../src/controller/topic-validation.ts';

export const testLimits: TopicLimits = { defaultPartitions: 1, defaultReplicationFactor: 1, maxPartitionsPerTopic: 1000 };

export class FakeQuorum {
  readonly builder = new MetadataImageBuilder();
  readonly log: Uint8Array[] = [];
  nowMs = 1_000_000;
  private topicCounter = 0;
  readonly controller: QuorumController;
  /** While set, proposals wait for it: a Raft commit that takes its time. */
  proposeGate: Promise<void> | null = null;

  constructor(options: { sessionTimeoutMs?: number; limits?: TopicLimits; deps?: Partial<ControllerDeps> } = {}) {
    this.controller = new QuorumController({
      ...options.deps,
      image: () => this.builder.image(),
      propose: async (records) => {
        await this.proposeGate;
        return this.append(records);
      },
      nowMs: () => this.nowMs,
      newTopicId: () => (++this.topicCounter).toString(16).padStart(32, '0'),
      limits: options.limits ?? testLimits,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 6000,
    });
  }

  append(records: MetadataRecord[]): number {
    const entry = encodeRecords(records);
    this.log.push(entry);
    const offset = this.log.length; // Raft indexes start at 1
    this.builder.apply(decodeRecords(entry), offset);
    return offset;
  }

  /** Every record written so far, replayed into a fresh builder. */
  replay(): MetadataImageBuilder {
    const builder = new MetadataImageBuilder();
    this.log.forEach((entry, index) => builder.apply(decodeRecords(entry), index + 1));
    return builder;
  }

  /** Registers and heartbeats a broker until it is unfenced; returns its epoch. */
  async addBroker(nodeId: number, rack: string | null = null, incarnationId = `incarnation-${nodeId}`): Promise<number> {
    const registered = await this.controller.registerBroker(registration(nodeId, rack, incarnationId));
    if (registered.errorCode !== 0) throw new Error(`registration of ${nodeId} failed with ${registered.errorCode}`);
    const beat = await this.controller.heartbeat({ nodeId, brokerEpoch: registered.brokerEpoch, metadataOffset: this.builder.appliedOffset, wantFence: false });
    if (beat.errorCode !== 0 || beat.fenced) throw new Error(`broker ${nodeId} not unfenced: ${JSON.stringify(beat)}`);
    return registered.brokerEpoch;
  }

  image() {
    return this.builder.image();
  }
}

export function registration(nodeId: number, rack: string | null = null, incarnationId = `incarnation-${nodeId}`): BrokerRegistrationRequest {
  return { nodeId, incarnationId, host: '127.0.0.1', port: 9092 + nodeId, rack, internalHost: '127.0.0.1', internalPort: 9192 + nodeId };
}

export function createRequest(name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}) {
  return { name, numPartitions, replicationFactor, assignments: [], configs };
}

/** Three registered brokers and one RF=3 partition of topic `events` (ISR = [leader] at first); `deps` as FakeQuorum takes them. */
export async function threeBrokersOnePartition(deps: Partial<ControllerDeps> = {}) {
  const quorum = new FakeQuorum({ deps, limits: { defaultPartitions: 1, defaultReplicationFactor: 3, maxPartitionsPerTopic: 10 } });
  await quorum.controller.ensureClusterId('cluster-a');
  const epochs = new Map<number, number>();
  for (let nodeId = 1; nodeId <= 3; nodeId++) epochs.set(nodeId, await quorum.addBroker(nodeId));
  const created = await quorum.controller.createTopic(createRequest('events', 1, 3), false);
  if (created.errorCode !== 0) throw new Error(`createTopic failed with ${created.errorCode}`);
  const topicId = created.topicId!;
  const partition = () => quorum.image().topicsById.get(topicId)!.partitions[0]!;
  return { quorum, epochs, topicId, partition };
}
