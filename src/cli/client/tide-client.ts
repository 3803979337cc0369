// The CLI's cluster view: a bootstrap connection, Metadata to learn brokers and leaders, and one
// cached connection per broker. Requests about a partition go to its leader; admin requests go to
// the controller when Metadata names one that is reachable, else to the bootstrap broker.
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  metadataCodec,
  type MetadataResponse,
  type MetadataResponseMetadataResponseTopic,
} from '../../protocol/messages/metadata.ts';
import { CliError } from '../cli-error.ts';
import { BrokerConnection, defaultConnectionOptions, type ConnectionOptions } from './connection.ts';
import { KafkaRequestError, transientErrorCodes } from './kafka-errors.ts';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';
/** Attempts at a request that failed with a transient error (leader or coordinator moving). */
export const MAX_TRANSIENT_ATTEMPTS = 5;
const RETRY_BACKOFF_MS = 200;

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host:port` (IPv6 as `[::1]:9092`); a mistake is a CliError naming the flag. */
export function parseHostPort(text: string, what = '--bootstrap'): HostPort {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || match[1] === '' || !(port > 0 && port < 65536)) {
    throw new CliError(`${what} must be host:port (for example 127.0.0.1:9092), got "${text}"`);
  }
  return { host: match[1]!, port };
}

export class TideClient {
  private readonly byNode = new Map<number, Promise<BrokerConnection>>();
  private brokers = new Map<number, HostPort>();
  private controllerId = -1;

  private constructor(readonly bootstrap: BrokerConnection, private readonly options: ConnectionOptions) {}

  static async connect(bootstrap: string, options: ConnectionOptions = defaultConnectionOptions): Promise<TideClient> {
    const { host, port } = parseHostPort(bootstrap);
    const client = new TideClient(await BrokerConnection.open(host, port, options), options);
    return client;
  }

  /** Metadata for some topics (null: all). Also refreshes the broker list and controller. */
  async metadata(topics: string[] | null): Promise<MetadataResponse> {
    const { body } = await this.bootstrap.send(metadataCodec, {
      topics: topics === null ? null : topics.map((name) => ({ topicId: '00000000000000000000000000000000', name })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    this.brokers = new Map(body.brokers.map((broker) => [broker.nodeId, { host: broker.host, port: broker.port }]));
    this.controllerId = body.controllerId;
    return body;
  }

  /** Metadata of one topic, retrying while its partitions have no leader yet (a topic just created). */
  async topicMetadata(topic: string): Promise<MetadataResponseMetadataResponseTopic> {
    for (let attempt = 1; ; attempt++) {
      const response = await this.metadata([topic]);
      const found = response.topics.find((entry) => entry.name === topic);
      const errorCode = found ? found.errorCode : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      const leaderless = found !== undefined && errorCode === ErrorCode.NONE && found.partitions.some((p) => p.leaderId < 0);
      if (errorCode === ErrorCode.NONE && !leaderless) return found!;
      const retry = transientErrorCodes.has(errorCode) || leaderless;
      if (!retry || attempt >= MAX_TRANSIENT_ATTEMPTS) {
        if (errorCode === ErrorCode.NONE) return found!;
        throw new KafkaRequestError(`topic ${topic}`, errorCode);
      }
      await sleep(RETRY_BACKOFF_MS * attempt);
    }
  }

  /** Connection to a broker by id (needs a metadata() call first to know its address). */
  connectionTo(nodeId: number): Promise<BrokerConnection> {
    const cached = this.byNode.get(nodeId);
    if (cached) return cached;
    const address = this.brokers.get(nodeId);
    if (!address) return Promise.reject(new CliError(`broker ${nodeId} is not in the cluster metadata; retry, or check tide cluster info`, 1));
    const opening = this.isBootstrap(address)
      ? Promise.resolve(this.bootstrap)
      : BrokerConnection.open(address.host, address.port, this.options);
    this.byNode.set(nodeId, opening);
    opening.catch(() => this.byNode.delete(nodeId));
    return opening;
  }

  /** Connection to a broker named by an answer (FindCoordinator) rather than by metadata. */
  connectionAt(nodeId: number, host: string, port: number): Promise<BrokerConnection> {
    if (!this.brokers.has(nodeId)) this.brokers.set(nodeId, { host, port });
    return this.connectionTo(nodeId);
  }

  /** Where admin requests go: the controller if known and reachable, else the bootstrap broker. */
  async adminConnection(): Promise<BrokerConnection> {
    if (this.brokers.size === 0) await this.metadata([]);
    if (this.controllerId < 0 || !this.brokers.has(this.controllerId)) return this.bootstrap;
    return this.connectionTo(this.controllerId).catch(() => this.bootstrap);
  }

  /** Every broker the last metadata named. */
  knownBrokers(): Map<number, HostPort> {
    return new Map(this.brokers);
  }

  async close(): Promise<void> {
    const connections = await Promise.allSettled([...this.byNode.values()]);
    for (const result of connections) if (result.status === 'fulfilled') result.value.close();
    this.bootstrap.close();
  }

  private isBootstrap(address: HostPort): boolean {
    return this.bootstrap.address === `${address.host}:${address.port}`;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `work` with a client and closes it, whatever happens. */
export async function withClient<T>(bootstrap: string, work: (client: TideClient) => Promise<T>): Promise<T> {
  const client = await TideClient.connect(bootstrap);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}
