// Everything that makes a node part of a cluster, assembled: the internal listener, links to the
// voters, and either (voters) the Raft driver with its file-backed log feeding the metadata image
// and, while this node leads, the QuorumController; or (observers) a follower that pulls committed
// entries from the voters. Then the broker's registration and heartbeats. TideNode builds one of
// these when controller.quorum.voters is set and uses `metadata` as its MetadataService.
import { randomInt, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { powerLossFsyncHook } from '../chaos/power-loss-journal.ts';
import { encodeRecords, type MetadataRecord } from '../controller/metadata-records.ts';
import { QuorumController } from '../controller/quorum-controller.ts';
import type { LeaderBalanceSettings } from '../controller/leader-balance.ts';
import { recordUncleanLeaderElection } from '../admin/metrics.ts';
import type { TopicLimits } from '../controller/topic-validation.ts';
import type { HostPort } from '../config/parse-value.ts';
import { SystemClock } from '../io/clock.ts';
import { SeededRandom } from '../io/random.ts';
import { RaftDriver } from '../raft/raft-driver.ts';
import { RaftLogStore } from '../raft/raft-log-store.ts';
import type { Logger } from '../util/log.ts';
import { BrokerLifecycle, type BrokerState } from './broker-lifecycle.ts';
import {
  ControllerRpcClient, fromBase64, serveControllerRequest, toBase64,
  type ControllerMethod, type ControllerMethods, type ControllerRpcHost, type FetchMetadataResult,
} from './controller-rpc.ts';
import { InternalListener } from './internal-listener.ts';
import { ObserverFollower } from './observer-follower.ts';
import { PeerLink } from './peer-link.ts';
import { RaftMetadataService, type ForwardToController } from './raft-metadata-service.ts';
import { TcpRaftTransport } from './tcp-raft-transport.ts';
import type { Voter } from './voters.ts';

export const metadataLogDirName = '__cluster_metadata-0';
const raftTickMs = 100;
// Fencing deadlines (broker.connection.loss.fence.ms) are checked this often: a short period keeps SIGKILL failover quick.
const controllerTickMs = 100;

export interface ClusterMembershipOptions {
  nodeId: number;
  dataDir: string;
  /** Proposed as the cluster id by the first active controller when the log has none. */
  clusterId: string;
  voters: readonly Voter[];
  /** Where the internal listener binds; defaults to this node's voter address. */
  controllerListen: HostPort | null;
  /** The Kafka address clients are given. */
  advertised: HostPort;
  rack: string | null;
  /** Source address of the links this node opens to other voters (outbound.local.host). */
  outboundLocalHost?: string | null;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  /** broker.connection.loss.fence.ms; absent or 0: only the session fences. */
  connectionLossFenceMs?: number;
  electionTimeoutMs: number;
  rpcTimeoutMs: number;
  snapshotEveryEntries: number;
  limits: TopicLimits;
  /** Preferred leader balancing and the broker default of unclean.leader.election.enable; absent: off / false. */
  leaderElection?: { balance: LeaderBalanceSettings; uncleanDefault: boolean };
  logger: Logger;
  /** The Raft log could not be written: the node must stop. */
  onFatal(error: Error): void;
}

/** A reason to stay fenced after a start (src/server/startup-fence-hold.ts). */
export interface FenceHold {
  holding(): boolean;
  onRelease(listener: () => void): void;
}

/** What the broker knows of its storage: full when its disk guard refuses appends (src/server/disk-guard-service.ts). */
export interface BrokerStorageState {
  isFull(): boolean;
  onChange(listener: (full: boolean) => void): void;
}

export interface QuorumState {
  nodeId: number;
  role: 'voter' | 'observer';
  controllerId: number;
  term: number;
  voters: Array<{ nodeId: number; host: string; port: number }>;
  appliedOffset: number;
  brokerState: BrokerState;
  brokerEpoch: number;
}

export class ClusterMembership implements ControllerRpcHost {
  readonly metadata: RaftMetadataService;
  private readonly links = new Map<number, PeerLink>();
  private readonly rpc: ControllerRpcClient;
  private listener: InternalListener | null = null;
  private driver: RaftDriver | null = null;
  private store: RaftLogStore | null = null;
  private follower: ObserverFollower | null = null;
  private lifecycle: BrokerLifecycle | null = null;
  private controller: QuorumController | null = null;
  private controllerReady = false;
  private controllerTimer: NodeJS.Timeout | null = null;
  private leaderGeneration = 0;
  private observedLeader: { leaderId: number | null; term: number } = { leaderId: null, term: 0 };
  private stopped = false;
  private leaving = false;

  private constructor(private readonly options: ClusterMembershipOptions) {
    const logger = options.logger;
    this.metadata = new RaftMetadataService(logger.child('metadata'), options.rpcTimeoutMs);
    for (const voter of options.voters) {
      if (voter.nodeId !== options.nodeId) this.links.set(voter.nodeId, new PeerLink(voter.host, voter.port, logger.child(`link-${voter.nodeId}`), undefined, this.outboundLocalHost));
    }
    this.rpc = new ControllerRpcClient({
      selfId: options.nodeId,
      links: this.links,
      voterIds: options.voters.map((voter) => voter.nodeId),
      leaderHint: () => this.leaderId(),
      local: this.isVoter ? (request) => serveControllerRequest(this, request, logger.child('controller-rpc')) : null,
      logger,
    });
    this.metadata.setForwarder(this.forwarder(options.rpcTimeoutMs));
  }

  /** Source address for connections this node opens to other nodes; null: the OS chooses. */
  get outboundLocalHost(): string | null {
    return this.options.outboundLocalHost ?? null;
  }

  get isVoter(): boolean {
    return this.options.voters.some((voter) => voter.nodeId === this.options.nodeId);
  }

  /** Opens the metadata log (voters) and starts following the quorum; returns once the local log is replayed. */
  static async start(options: ClusterMembershipOptions): Promise<ClusterMembership> {
    const membership = new ClusterMembership(options);
    try {
      if (membership.isVoter) await membership.startVoter();
      else membership.startObserver();
    } catch (error) {
      await membership.stop();
      throw error;
    }
    return membership;
  }

  /**
   * Starts registering and heartbeating; call once the node can serve the partitions it is given.
   * With `storage`, heartbeats report whether it is full, and a change is reported at once; with
   * `fenceHold`, the broker asks to stay fenced while it holds.
   */
  startBroker(internalAddress: HostPort | null, storage?: BrokerStorageState, fenceHold?: FenceHold): void {
    const { options } = this;
    this.lifecycle = new BrokerLifecycle({
      nodeId: options.nodeId,
      address: {
        host: options.advertised.host, port: options.advertised.port, rack: options.rack,
        internalHost: internalAddress?.host ?? '', internalPort: internalAddress?.port ?? 0,
      },
      // A heartbeat that takes longer than the session would be useless: give up and send the next.
      call: this.forwarder(Math.max(500, Math.min(options.rpcTimeoutMs, Math.floor(options.sessionTimeoutMs / 2)))),
      metadataOffset: () => this.metadata.visibleOffset,
      ...(storage ? { storageFull: () => storage.isFull() } : {}),
      ...(fenceHold ? { holdFenced: () => fenceHold.holding() } : {}),
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      logger: options.logger.child('lifecycle'),
    });
    this.lifecycle.start();
    // The hold over: ask to be unfenced now, not at the next beat.
    fenceHold?.onRelease(() => this.lifecycle?.beatNow());
    // The controller moves this node's leaderships when its storage fills: tell it now, not at the next beat.
    storage?.onChange((full) => {
      options.logger.info(full ? 'storage full: reporting it to the controller' : 'storage has room again: reporting it to the controller');
      this.lifecycle?.beatNow();
    });
    // The controller fences a broker whose heartbeat connection closed unless it heartbeats again
    // within broker.connection.loss.fence.ms: speak up as soon as the link to the controller breaks.
    for (const [nodeId, link] of this.links) link.onLost(() => {
      if (this.leaderId() === nodeId) this.lifecycle?.beatNow();
    });
  }

  /** The internal listener's address (voters), for registration. */
  get internalAddress(): HostPort | null {
    if (!this.listener) return null;
    const own = this.options.controllerListen ?? this.ownVoter();
    return own ? { host: own.host === '0.0.0.0' || own.host === '::' ? this.options.advertised.host : own.host, port: this.listener.port } : null;
  }

  /** Reserves a block of producer ids through the controller (ReserveProducerIdBlock). */
  reserveProducerIds = async (blockSize: number): Promise<number> => {
    const block = await this.rpc.call('allocateProducerIds', { nodeId: this.options.nodeId, size: blockSize }, this.options.rpcTimeoutMs);
    if (block.errorCode !== 0) throw new Error(`controller refused to reserve ${blockSize} producer ids (error ${block.errorCode})`);
    if (block.size !== blockSize) throw new Error(`controller reserved ${block.size} producer ids, ${blockSize} were asked for`);
    await this.metadata.waitForOffset(block.offset, this.options.rpcTimeoutMs);
    return block.firstId;
  };

  quorumState(): QuorumState {
    return {
      nodeId: this.options.nodeId,
      role: this.isVoter ? 'voter' : 'observer',
      controllerId: this.leaderId() ?? -1,
      term: this.driver?.term ?? this.observedLeader.term,
      voters: this.options.voters.map((voter) => ({ nodeId: voter.nodeId, host: voter.host, port: voter.port })),
      appliedOffset: this.metadata.appliedOffset,
      brokerState: this.lifecycle?.state ?? 'registering',
      brokerEpoch: this.lifecycle?.brokerEpoch ?? -1,
    };
  }

  /** Controlled shutdown, part one: a farewell heartbeat (leaderships move at once) and Raft leadership handed on. */
  async leave(timeoutMs: number): Promise<void> {
    if (this.leaving || this.stopped) return;
    this.leaving = true;
    await this.lifecycle?.stop(timeoutMs);
    await this.handOverLeadership(timeoutMs);
  }

  /** Closes the quorum connections and the metadata log. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.lifecycle?.stop(0);
    this.stopController();
    this.follower?.stop();
    this.rpc.close();
    await this.driver?.stop();
    await this.listener?.close();
    for (const link of this.links.values()) link.close();
    await this.store?.close();
  }

  // ---- ControllerRpcHost ------------------------------------------------------------------------

  activeController(): QuorumController | null {
    return this.controllerReady && this.driver?.isLeader ? this.controller : null;
  }

  leaderId(): number | null {
    if (this.driver) return this.driver.leaderId ?? null;
    return this.observedLeader.leaderId;
  }

  fetchMetadata(fromOffset: number, maxBytes: number): FetchMetadataResult {
    const store = this.store!;
    const applied = this.metadata.appliedOffset;
    const base = { leaderId: this.leaderId(), term: this.driver?.term ?? 0, highOffset: applied };
    const from = Math.max(1, fromOffset);
    if (from < store.storage.firstIndex()) {
      // Compacted away: the whole image instead, which equals replaying up to `applied`.
      return { ...base, snapshot: { offset: applied, data: toBase64(this.metadata.takeSnapshot()) }, entries: [] };
    }
    if (from > applied) return { ...base, snapshot: null, entries: [] };
    const entries = store.storage.entries(from, Math.min(applied, store.storage.lastIndex()) + 1, maxBytes);
    return { ...base, snapshot: null, entries: entries.map((entry) => ({ offset: entry.index, data: toBase64(entry.data) })) };
  }

  // ---- Voter ------------------------------------------------------------------------------------

  private ownVoter(): Voter | undefined {
    return this.options.voters.find((voter) => voter.nodeId === this.options.nodeId);
  }

  private async startVoter(): Promise<void> {
    const { options } = this;
    const logger = options.logger;
    const voterIds = options.voters.map((voter) => voter.nodeId);
    const transport = new TcpRaftTransport(options.nodeId, this.links, logger.child('raft-transport'));
    const listen = options.controllerListen ?? this.ownVoter()!;
    this.listener = new InternalListener({
      onRaft: (bytes) => transport.receive(bytes),
      onRequest: (request, connection) => serveControllerRequest(this, request, logger.child('controller-rpc'), connection),
      onConnectionClosed: (connectionId) => this.controller?.connectionClosed(connectionId),
    }, logger.child('internal'));
    await this.listener.start(listen.host, listen.port);
    this.store = await RaftLogStore.open({
      directory: join(options.dataDir, metadataLogDirName),
      confState: { voters: voterIds, learners: [] },
      logger: logger.child('raft-store'),
      // Undefined (no cost) unless the power-loss test mode is on (src/chaos/power-loss-journal.ts).
      onFsync: powerLossFsyncHook(),
    });
    const committedAtStart = this.store.storage.hardStateNow().commit;
    const driver = await RaftDriver.start({
      id: options.nodeId,
      voters: voterIds,
      store: this.store,
      transport,
      clock: new SystemClock(),
      random: new SeededRandom(randomInt(0, 2 ** 47)),
      stateMachine: {
        apply: (entry) => this.metadata.applyEntry(entry.index, entry.data),
        takeSnapshot: () => this.metadata.takeSnapshot(),
        restoreSnapshot: (snapshot) => this.metadata.restoreSnapshot(snapshot.data),
      },
      tickIntervalMs: raftTickMs,
      electionTicks: Math.max(2, Math.round(options.electionTimeoutMs / raftTickMs)),
      heartbeatTicks: 1,
      snapshotEveryEntries: options.snapshotEveryEntries,
      logger: logger.child('raft'),
    });
    this.driver = driver;
    driver.onLeaderChange((leaderId) => this.onLeaderChange(leaderId));
    // A leader whose connection closed and whose port then refuses a new one is gone: elect now
    // rather than after a whole election timeout of silence (Raft.leaderUnreachable).
    for (const [nodeId, link] of this.links) link.onAttemptFailed(() => {
      if (driver.leaderId === nodeId && !driver.isLeader) driver.leaderUnreachable();
    });
    driver.onFatal((error) => options.onFatal(error));
    // What this node had committed before it stopped is replayed from its own log, without peers.
    await this.waitFor(() => committedAtStart === 0 || this.metadata.visibleOffset >= committedAtStart, 30_000, 'replaying the local metadata log');
    logger.info('joined the controller quorum as a voter', { voters: voterIds, replayedTo: this.metadata.appliedOffset });
  }

  private onLeaderChange(leaderId: number | undefined): void {
    this.metadata.setControllerId(leaderId ?? -1);
    this.leaderGeneration++;
    if (leaderId === this.options.nodeId) void this.becomeActiveController(this.leaderGeneration);
    else this.stopController();
    // A new controller fences brokers it does not hear from soon (takeoverGraceMs).
    if (leaderId !== undefined) this.lifecycle?.beatNow();
  }

  /** Waits until this leader has applied an entry of its own term, so the image holds everything committed before it. */
  private async becomeActiveController(generation: number): Promise<void> {
    const driver = this.driver!;
    const { options } = this;
    const logger = options.logger.child('controller');
    const term = driver.term;
    const noOpIndex = driver.status().lastIndex;
    const caughtUp = await this.waitFor(() => generation !== this.leaderGeneration || driver.lastAppliedIndex >= noOpIndex, 10_000, 'the new leader applying its first entry').catch(() => false);
    if (!caughtUp || generation !== this.leaderGeneration || !driver.isLeader) return;
    const controller = new QuorumController({
      image: () => this.metadata.image(),
      propose: (records: MetadataRecord[]) => driver.propose(encodeRecords(records)),
      nowMs: () => performance.now(),
      newTopicId: () => randomUUID().replace(/-/g, ''),
      limits: options.limits,
      sessionTimeoutMs: options.sessionTimeoutMs,
      connectionLossFenceMs: options.connectionLossFenceMs ?? 0,
      // Live brokers heartbeat to a new controller as soon as they learn of it or lose their link to
      // the old one (beatNow), and retry every 100 ms until it answers: twice the connection-loss
      // grace, at least 1 s, leaves room for a slow one; a broker silent that long is taken for dead.
      takeoverGraceMs: takeoverGraceMs(options.connectionLossFenceMs ?? 0),
      // The old controller killed with its broker is usually why this node leads now: its port
      // refused our Raft link's reconnect, so it need not be given the whole takeover grace.
      refusingBrokers: () => new Set([...this.links].filter(([, link]) => link.isRefusing).map(([nodeId]) => nodeId)),
      leaderBalance: options.leaderElection?.balance,
      uncleanLeaderElectionDefault: options.leaderElection?.uncleanDefault ?? false,
      onUncleanElection: () => recordUncleanLeaderElection(),
      logger,
    });
    controller.onBecomeLeader();
    this.controller = controller;
    try {
      await controller.ensureClusterId(options.clusterId);
    } catch (error) {
      logger.warn('could not record the cluster id', { error: (error as Error).message });
      return;
    }
    if (generation !== this.leaderGeneration) return;
    this.controllerReady = true;
    let ticking = false;
    this.controllerTimer = setInterval(() => {
      // One tick at a time: with slow proposals, ticks would otherwise queue up behind each other.
      if (!this.controllerReady || ticking) return;
      ticking = true;
      controller.tick()
        .then(() => controller.balanceLeaders())
        .catch((error: unknown) => logger.warn('controller tick failed', { error: (error as Error).message })).finally(() => { ticking = false; });
    }, controllerTickMs);
    this.controllerTimer.unref();
    logger.info('active controller', { term, clusterId: this.metadata.image().clusterId });
  }

  private stopController(): void {
    this.controllerReady = false;
    this.controller = null;
    if (this.controllerTimer) clearInterval(this.controllerTimer);
    this.controllerTimer = null;
  }

  private async handOverLeadership(timeoutMs: number): Promise<void> {
    const driver = this.driver;
    if (!driver?.isLeader || this.options.voters.length < 2) return;
    // The most caught-up peer would be best; any reachable voter is fine, Raft makes it catch up first.
    const target = this.options.voters.find((voter) => voter.nodeId !== this.options.nodeId && this.links.get(voter.nodeId)?.isConnected);
    if (!target) return;
    this.stopController();
    driver.transferLeadership(target.nodeId);
    await this.waitFor(() => !driver.isLeader, timeoutMs, 'leadership transfer').catch(() => undefined);
  }

  // ---- Observer ---------------------------------------------------------------------------------

  private startObserver(): void {
    const { options } = this;
    this.follower = new ObserverFollower({
      fetch: (fromOffset) => this.rpc.call('fetchMetadata', { fromOffset, maxBytes: 4 * 1024 * 1024 }, options.rpcTimeoutMs),
      metadata: this.metadata,
      onLeader: (leaderId, term) => {
        const changed = leaderId !== this.observedLeader.leaderId;
        this.observedLeader = { leaderId, term };
        this.metadata.setControllerId(leaderId ?? -1);
        // A new controller fences brokers it does not hear from soon (takeoverGraceMs).
        if (changed && leaderId !== null) this.lifecycle?.beatNow();
      },
      fromBase64,
      logger: options.logger.child('observer'),
    });
    this.follower.start();
    options.logger.info('following the controller quorum as an observer', { voters: options.voters.map((voter) => voter.nodeId) });
  }

  // ---- Helpers ----------------------------------------------------------------------------------

  private forwarder(timeoutMs: number): ForwardToController {
    return <M extends ControllerMethod>(method: M, params: ControllerMethods[M]['params']) => this.rpc.call(method, params, timeoutMs);
  }

  /** Polls `condition` every 20 ms; rejects after `timeoutMs`. */
  private async waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (this.stopped) return false;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms ${what}`);
      await new Promise<void>((resolve) => setTimeout(resolve, 20).unref());
    }
    return true;
  }
}

/** How long a new active controller waits to hear from a broker before fencing it; 0 when connection-loss fencing is off. */
export function takeoverGraceMs(connectionLossFenceMs: number): number {
  return connectionLossFenceMs > 0 ? Math.max(1000, 2 * connectionLossFenceMs) : 0;
}
