// One real Tide node under fault injection: clients reach it only through a FaultProxy link whose
// port is also the node's advertised address, so a restart on a new port is invisible to them and
// network faults apply to every client connection. The node can be killed, stopped gracefully,
// frozen, "powered off" (killed, then its segments cut back to what was fsynced), have a segment
// corrupted while down, run on a small tmpfs to fill its disk, and (with `diskHooks`) have its
// fsyncs fail with EIO (the node halts) or take longer (a slow disk) from outside.
// In a cluster (fault-cluster.ts) each node is one of these with `cluster` set: it joins the quorum
// through the proxy's controller links and opens its own connections from its own loopback address.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaultProxy } from '../../src/chaos/fault-proxy.ts';
import {
  corruptFile, crcCoveredPosition, cutToFsyncedLengths, fillDisk, listSegmentFiles, mountTmpfs, removeFiller, unmountTmpfs, writeDurableBaseline,
  type CorruptionKind, type CorruptionReport, type PowerLossReport,
} from '../../src/chaos/disk-faults.ts';
import { FSYNC_FAIL_TRIGGER_ENV } from '../../src/chaos/fsync-failure.ts';
import { POWER_LOSS_JOURNAL_ENV } from '../../src/chaos/power-loss-journal.ts';
import { SLOW_FSYNC_ENV } from '../../src/chaos/slow-fsync.ts';
import { killProcess, pauseProcess } from '../../src/chaos/process-faults.ts';
import { makeTempDir, removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';

export interface FaultNodeOptions {
  flush: 'sync' | 'async';
  /** Record fsynced lengths so that powerLoss() can cut files back to them. */
  powerLossMode?: boolean;
  /** Mount a tmpfs of this size as the data dir (root only), for full-disk episodes. */
  tmpfsBytes?: number;
  /** Start with the fsync-failure and slow-disk test hooks pointed at files in rootDir (see failFsync, slowDisk). */
  diskHooks?: boolean;
  extraArgs?: string[];
  proxy?: FaultProxy;
  linkName?: string;
  /** Cluster membership: set by FaultCluster, which owns the controller links. */
  cluster?: ClusterRole;
}

export interface ClusterRole {
  nodeId: number;
  /** controller.quorum.voters, every voter at its proxy controller link. */
  voters: string;
  /** The real internal listener port (the proxy's controller link forwards to it). */
  controllerPort: number;
  /** outbound.local.host: the source address of every connection this node opens to the others. */
  outboundHost: string;
}

export class FaultNode {
  readonly proxy: FaultProxy;
  readonly linkName: string;
  process: TideProcess | null = null;
  private proxyPort = 0;
  private ownsProxy: boolean;
  private mounted = false;

  private constructor(readonly rootDir: string, readonly dataDir: string, readonly options: FaultNodeOptions, proxy: FaultProxy | undefined) {
    this.ownsProxy = proxy === undefined;
    this.proxy = proxy ?? new FaultProxy();
    this.linkName = options.linkName ?? 'client-node1';
  }

  static async create(options: FaultNodeOptions): Promise<FaultNode> {
    const rootDir = await makeTempDir(options.cluster ? `tide-fault-n${options.cluster.nodeId}-` : 'tide-fault-');
    const dataDir = join(rootDir, 'data');
    mkdirSync(dataDir);
    const node = new FaultNode(rootDir, dataDir, options, options.proxy);
    if (options.tmpfsBytes !== undefined) {
      mountTmpfs(dataDir, options.tmpfsBytes);
      node.mounted = true;
    }
    // Targets port 1 until the node is up: connections made before then are refused.
    node.proxyPort = await node.proxy.addLink(node.linkName, 1);
    return node;
  }

  /** What clients use: the proxy's port, which is also what the node advertises. */
  get bootstrap(): string {
    return `127.0.0.1:${this.proxyPort}`;
  }

  get port(): number {
    return this.proxyPort;
  }

  get journalPath(): string {
    return join(this.rootDir, 'power-loss-journal');
  }

  get running(): boolean {
    return this.process !== null && this.process.child.exitCode === null && this.process.child.signalCode === null;
  }

  /** While this file exists every fsync of the node's partition logs fails with EIO (diskHooks). */
  get fsyncFailTrigger(): string {
    return join(this.rootDir, 'fsync-fail-trigger');
  }

  /** Holds the extra ms a segment fsync takes (`250` or `50-500`); absent: a normal disk (diskHooks). */
  get slowFsyncFile(): string {
    return join(this.rootDir, 'slow-fsync-ms');
  }

  async start(): Promise<void> {
    if (this.running) throw new Error('node already running');
    const env: Record<string, string> = {};
    if (this.options.diskHooks === true) {
      // A node never starts inside an fsync-failure episode: it would halt at its first fsync.
      rmSync(this.fsyncFailTrigger, { force: true });
      env[FSYNC_FAIL_TRIGGER_ENV] = this.fsyncFailTrigger;
      env[SLOW_FSYNC_ENV] = this.slowFsyncFile;
    }
    if (this.options.powerLossMode === true) {
      writeDurableBaseline(this.dataDir, this.journalPath);
      env[POWER_LOSS_JOURNAL_ENV] = this.journalPath;
    }
    const role = this.options.cluster;
    const clusterArgs = role === undefined ? [] : [
      '--node-id', String(role.nodeId), '--controllers', role.voters, '--controller-listen', `127.0.0.1:${role.controllerPort}`,
      '--outbound.local.host', role.outboundHost,
    ];
    this.process = await startTide({
      dataDir: this.dataDir,
      env,
      args: [
        '--advertise', this.bootstrap,
        '--log.flush', this.options.flush,
        ...clusterArgs,
        ...(this.options.extraArgs ?? []),
      ],
      ...(role !== undefined ? { startTimeoutMs: 30_000 } : {}),
    });
    this.proxy.retarget(this.linkName, this.process.kafkaPort);
  }

  async kill(): Promise<void> {
    const node = this.requireProcess();
    killProcess(node.pid);
    await node.exited;
  }

  get nodeId(): number {
    return this.options.cluster?.nodeId ?? 1;
  }

  /** The node's own HTTP port (observation only: never proxied, never faulted). */
  get httpPort(): number | null {
    return this.running ? this.process!.httpPort : null;
  }

  get logPath(): string | null {
    return this.process?.logPath ?? null;
  }

  /** SIGTERM and wait for the exit (SIGKILL after timeoutMs, as an operator would). */
  async terminate(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    // One SIGTERM only (stopTide sends it): a second one tells the node to exit without waiting.
    return stopTide(this.requireProcess(), 'SIGTERM', timeoutMs);
  }

  async pause(pauseMs: number): Promise<void> {
    await pauseProcess(this.requireProcess().pid, pauseMs);
  }

  /** SIGKILL, then keep only what was fsynced (requires powerLossMode). */
  async powerLoss(): Promise<PowerLossReport> {
    if (this.options.powerLossMode !== true) throw new Error('powerLoss() needs powerLossMode');
    await this.kill();
    return cutToFsyncedLengths(this.dataDir, this.journalPath);
  }

  /**
   * While the node is down: damages the newest segment of `partitionDirName` at a point chosen by
   * `pick` in [0, 1): a bit flip lands on a CRC-covered byte of some batch, a truncation anywhere
   * in the file. Returns null if there is no non-empty segment.
   */
  corruptSegment(partitionDirName: string, kind: CorruptionKind, pick: number, bit = 0): CorruptionReport | null {
    if (this.running) throw new Error('corrupt segments only while the node is down');
    const segments = listSegmentFiles(join(this.dataDir, partitionDirName));
    const target = segments.at(-1);
    if (target === undefined) return null;
    const sizeBytes = statSync(target).size;
    if (sizeBytes === 0) return null;
    const position = kind === 'bitflip' ? crcCoveredPosition(target, pick) : Math.min(sizeBytes - 1, Math.floor(pick * sizeBytes));
    if (position === null) return null;
    return corruptFile(target, kind, position, bit);
  }

  /**
   * Makes every fsync fail with EIO from now on and waits for the node to halt (exit 74 expected);
   * SIGKILLs it if it has not within `timeoutMs` (no fsync came: nothing was written to it).
   * The trigger stays until start() removes it.
   */
  async failFsync(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; halted: boolean }> {
    if (this.options.diskHooks !== true) throw new Error('failFsync() needs diskHooks');
    const node = this.requireProcess();
    writeFileSync(this.fsyncFailTrigger, 'fail every fsync\n');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
    const exit = await Promise.race([node.exited, timedOut]);
    clearTimeout(timer);
    if (exit !== null) return { ...exit, halted: true };
    await this.kill();
    return { ...(await node.exited), halted: false };
  }

  /** Segment fsyncs take `delay` ms longer (`250` or `50-500`) until fastDisk(); the node notices within 0.1 s. */
  slowDisk(delay: string): void {
    if (this.options.diskHooks !== true) throw new Error('slowDisk() needs diskHooks');
    writeFileSync(this.slowFsyncFile, `${delay}\n`);
  }

  fastDisk(): void {
    rmSync(this.slowFsyncFile, { force: true });
  }

  /** Fills the data dir's file system (tmpfs) leaving `leaveFreeBytes`; returns the filler path. */
  fillDisk(leaveFreeBytes = 0): string {
    if (!this.mounted) throw new Error('fillDisk needs a tmpfs data dir (tmpfsBytes)');
    const filler = join(this.dataDir, 'fault-filler.bin');
    fillDisk(filler, leaveFreeBytes);
    return filler;
  }

  freeDisk(fillerPath: string): void {
    removeFiller(fillerPath);
  }

  /** Stops the node (SIGKILL if still running), unmounts, removes its files (kept with FAULT_KEEP_FILES=1 or `keepFiles`). */
  async destroy(keepFiles = false): Promise<void> {
    if (this.running) await this.kill().catch(() => {});
    await this.proxy.removeLink(this.linkName).catch(() => {});
    if (this.ownsProxy) await this.proxy.close();
    if (this.mounted) {
      try {
        unmountTmpfs(this.dataDir);
      } finally {
        this.mounted = false;
      }
    }
    if (keepFiles || process.env['FAULT_KEEP_FILES'] === '1') return;
    await removeDir(this.rootDir);
  }

  private requireProcess(): TideProcess {
    if (!this.running) throw new Error('node is not running');
    return this.process!;
  }
}
