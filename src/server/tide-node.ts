import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import type { BrokerConfig } from '../config/broker-config.ts';
import { LocalMetadataStore } from '../controller/local-metadata-store.ts';
import type { MetadataService } from '../controller/metadata-service.ts';
import { ClusterMembership } from '../cluster/cluster-membership.ts';
import { startClusterGroups } from '../cluster/cluster-groups.ts';
import { quorumRoute } from '../cluster/quorum-route.ts';
import { parseVoters } from '../cluster/voters.ts';
import { ProducerIdManager } from '../coordinator/producer-id-manager.ts';
import { HttpServer, healthRoutes } from '../admin/http-server.ts';
import { createAdminRoutes } from '../admin/rest-api.ts';
import { KafkaListener } from '../network/listener.ts';
import type { Logger } from '../util/log.ts';
import type { BrokerServices } from './broker-services.ts';
import { loadOrFormatMeta, lockDataDir } from './data-dir.ts';
import { DiskGuard } from './disk-guard-service.ts';
import { GroupService } from './groups/group-service.ts';
import { createGroupsView } from './groups/groups-view.ts';
import { ProducerIdService } from './producer-ids.ts';
import { LogCleanerService } from './log-cleaner-service.ts';
import { LogScrubService } from './log-scrub-service.ts';
import { StartupFenceHold } from './startup-fence-hold.ts';
import { ReplicaManager } from './replica-manager.ts';
import { RequestDispatcher } from './request-dispatcher.ts';
import { allHandlers } from './handlers/index.ts';
import { startReplication, type StartedReplication } from './replication/start-replication.ts';

/** One Tide process: data dir, metadata, local partitions, the Kafka listener and the HTTP port. */
export class TideNode {
  private ready = false;

  private constructor(
    readonly nodeId: number,
    readonly dataDir: string,
    private readonly listener: KafkaListener,
    private readonly http: HttpServer,
    private readonly replicas: ReplicaManager,
    private readonly diskGuard: DiskGuard,
    private readonly groups: GroupService,
    private readonly beginShutdown: () => void,
    private readonly releaseLock: () => void,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    /** Set in cluster mode (controller.quorum.voters given). */
    readonly cluster: ClusterMembership | null = null,
    private readonly replication: StartedReplication | null = null,
  ) {}

  get kafkaAddress(): string {
    return `${this.config.hostPort('listen')!.host}:${this.listener.port}`;
  }

  get kafkaPort(): number {
    return this.listener.port;
  }

  get httpAddress(): string {
    return `${this.config.hostPort('http.listen')!.host}:${this.http.port}`;
  }

  get httpPort(): number {
    return this.http.port;
  }

  static async start(config: BrokerConfig, logger: Logger): Promise<TideNode> {
    const nodeId = config.int('node.id');
    const dataDir = resolve(config.string('data.dir')!);
    const releaseLock = lockDataDir(dataDir);
    let startedCluster: ClusterMembership | null = null;
    let startedListener: KafkaListener | null = null;
    try {
      const identity = await loadOrFormatMeta(dataDir, nodeId, config.string('cluster.id'));
      const listen = config.hostPort('listen')!;
      const httpListen = config.hostPort('http.listen')!;
      const advertisedSetting = config.hostPort('advertise');

      const diskGuard = new DiskGuard(dataDir, Number(config.string('disk.max.used.ratio')), logger.child('disk'));
      await diskGuard.start();
      const replicas = new ReplicaManager(dataDir, nodeId, () => config.topicDefaults(), logger.child('replicas'));
      replicas.fsyncFailureHandler = (error, dir) => {
        // Kafka's log-dir failure with one log dir: stop. After a failed fsync the kernel may have
        // dropped the dirty pages; retrying and carrying on could acknowledge data not on disk.
        logger.error('FATAL: fsync failed; halting this node (restart it to recover the log from disk)', { dir, error: error.message });
        process.exit(74);
      };

      const shutdownController = new AbortController();
      const beginShutdown = () => shutdownController.abort();
      // Every waiting long poll listens for shutdown; that many listeners is expected, not a leak.
      setMaxListeners(0, shutdownController.signal);

      // The listener binds first so that an ephemeral port (0) is known before Metadata advertises it.
      let services: BrokerServices | null = null;
      const dispatcher = new RequestDispatcher(allHandlers, () => services!, logger.child('requests'));
      const listener = new KafkaListener(
        {
          name: 'PLAINTEXT',
          host: listen.host,
          port: listen.port,
          maxFrameBytes: config.int('socket.request.max.bytes'),
          maxInFlightRequests: config.int('queued.max.requests.per.connection'),
          idleTimeoutMs: config.int('connections.max.idle.ms'),
          maxQueuedResponseBytes: 64 * 1024 * 1024,
          maxConnections: config.int('max.connections'),
          maxConnectionsPerIp: config.int('max.connections.per.ip'),
        },
        dispatcher,
        logger.child('network'),
      );
      await listener.start();
      startedListener = listener;
      const advertised = advertisedSetting ?? {
        host: listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host,
        port: listener.port,
      };
      const limits = {
        defaultPartitions: config.int('num.partitions'),
        defaultReplicationFactor: config.int('default.replication.factor'),
        maxPartitionsPerTopic: config.int('max.partitions.per.topic'),
        preset: config.string('preset'),
        defaultMinInsyncReplicas: config.int('min.insync.replicas'),
      };
      const votersSetting = config.string('controller.quorum.voters');
      const cluster = votersSetting === null ? null : await ClusterMembership.start({
        nodeId,
        dataDir,
        clusterId: identity.clusterId,
        voters: parseVoters(votersSetting),
        controllerListen: config.hostPort('controller.listen'),
        advertised,
        rack: config.string('broker.rack'),
        outboundLocalHost: config.string('outbound.local.host'),
        heartbeatIntervalMs: config.int('broker.heartbeat.interval.ms'),
        sessionTimeoutMs: config.int('broker.session.timeout.ms'),
        connectionLossFenceMs: config.int('broker.connection.loss.fence.ms'),
        electionTimeoutMs: config.int('controller.election.timeout.ms'),
        rpcTimeoutMs: config.int('controller.rpc.timeout.ms'),
        snapshotEveryEntries: config.int('controller.snapshot.every.entries'),
        leaderElection: {
          balance: {
            enabled: config.bool('auto.leader.rebalance.enable'),
            checkIntervalMs: config.int('leader.imbalance.check.interval.seconds') * 1000,
            imbalancePercentage: config.int('leader.imbalance.per.broker.percentage'),
          },
          uncleanDefault: config.bool('unclean.leader.election.enable'),
        },
        limits,
        logger: logger.child('cluster'),
        onFatal: (error) => {
          // The metadata log cannot be written: this node would act on a stale image. Stop hard.
          logger.error('metadata log failed; exiting', { error: error.message });
          process.exit(70);
        },
      });
      startedCluster = cluster;
      const metadata: MetadataService = cluster ? cluster.metadata : await LocalMetadataStore.open(
        dataDir,
        identity.clusterId,
        { nodeId, host: advertised.host, port: advertised.port, rack: null, fenced: false },
        limits,
        logger.child('metadata'),
      );
      // Cluster mode: partitions replicate (src/server/replication/); a single node needs none of it.
      const replication = cluster ? startReplication(cluster, nodeId, replicas, metadata, config, logger.child('replication')) : null;
      metadata.onChange(async (image) => {
        await replicas.reconcile(image);
        replication?.manager.onImage(image);
      });
      await replicas.start(metadata.image(), config.int('log.retention.check.interval.ms'), LogCleanerService.settingsFrom(config), LogScrubService.settingsFrom(config));
      replication?.manager.onImage(metadata.image());
      // In a cluster, producer-id blocks are metadata records, so no two nodes ever hand out the same id.
      const producerIds = cluster
        ? new ProducerIdService(new ProducerIdManager({ reserveBlock: cluster.reserveProducerIds }), logger.child('producer-ids'))
        : await ProducerIdService.open(dataDir, logger.child('producer-ids'));
      const groups = new GroupService({ nodeId, metadata, replicas, ...GroupService.optionsFrom(config), replication: replication?.manager ?? null, logger: logger.child('groups') });
      if (cluster) {
        // The disk guard's state goes into every heartbeat: a full node's leaderships move to ISR members with room.
        cluster.startBroker(cluster.internalAddress, diskGuard, startupFenceHold(replicas, metadata, nodeId, config, logger));
        // __consumer_offsets is created once brokers have joined; start-up does not wait for the quorum.
        startClusterGroups(groups, cluster, shutdownController.signal, logger.child('groups'));
      } else {
        await groups.start();
      }
      services = {
        nodeId,
        clusterId: identity.clusterId,
        config,
        metadata,
        replicas,
        diskGuard,
        groups,
        producerIds,
        logger,
        shutdownSignal: shutdownController.signal,
        isShuttingDown: () => shutdownController.signal.aborted,
        advertised,
        replication: replication?.manager ?? null,
      };

      let node: TideNode | null = null;
      const http = new HttpServer([healthRoutes(() => node?.ready ?? false), quorumRoute(() => cluster?.quorumState() ?? null), ...createAdminRoutes(services, { groups: createGroupsView(groups, replicas, metadata), raftTerm: () => cluster?.quorumState().term ?? null })], logger.child('http'));
      await http.start(httpListen.host, httpListen.port);
      node = new TideNode(nodeId, dataDir, listener, http, replicas, diskGuard, groups, beginShutdown, releaseLock, config, logger, cluster, replication);
      node.ready = true;
      logger.info('node ready', { kafka: node.kafkaAddress, http: node.httpAddress, dataDir, clusterId: identity.clusterId });
      return node;
    } catch (error) {
      // An open listener or quorum connection would keep a process whose start failed alive.
      await startedCluster?.stop().catch(() => undefined);
      await startedListener?.close(0).catch(() => undefined);
      releaseLock();
      throw error;
    }
  }

  /** Stops accepting, lets in-flight requests finish (long polls answer at once), fsyncs and closes. */
  async stop(): Promise<void> {
    this.ready = false;
    // Controlled shutdown: the controller moves this node's leaderships away before it stops serving.
    await this.cluster?.leave(this.config.int('shutdown.timeout.ms'));
    this.beginShutdown();
    // Waiting acks=all produce requests are released (NOT_LEADER_OR_FOLLOWER) before the listener drains.
    await this.replication?.stop();
    // Before the listener drains: parked JoinGroup/SyncGroup requests are answered NOT_COORDINATOR now.
    await this.groups.stop();
    await this.listener.close(this.config.int('shutdown.timeout.ms'));
    await this.replicas.close();
    await this.cluster?.stop();
    this.diskGuard.stop();
    await this.http.close();
    this.releaseLock();
    this.logger.info('node stopped');
  }
}

/** The broker stays fenced after a start while the scrubber's first pass runs (src/server/startup-fence-hold.ts). */
function startupFenceHold(replicas: ReplicaManager, metadata: MetadataService, nodeId: number, config: BrokerConfig, logger: Logger): StartupFenceHold | undefined {
  const scrubber = replicas.scrubService;
  if (scrubber === null) return undefined;
  const hold = new StartupFenceHold({
    nodeId,
    firstPassPending: () => scrubber.firstPassPending(),
    image: () => metadata.image(),
    maxMs: config.int('log.scrub.startup.fenced.max.ms'),
    now: Date.now,
    logger: logger.child('scrubber'),
  });
  scrubber.unthrottled = () => hold.holding();
  scrubber.onFirstPassDone = () => hold.release('first scrub done; asking to be unfenced');
  return hold;
}
