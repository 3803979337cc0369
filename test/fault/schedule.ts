// Seeded fault schedules against a FaultNode or a FaultCluster, and the numbers reported about them.
// Every choice (which fault, which node role, how long, where to corrupt) comes from one
// SeededRandom, so a seed replays the same schedule; what the processes do meanwhile (and so which
// node leads when a role is resolved) is real time and is not replayed exactly.
import { SeededRandom } from '../../src/io/random.ts';
import type { FaultCluster } from './fault-cluster.ts';
import type { FaultNode } from './fault-node.ts';
import type { TimedSend } from './workload.ts';
import { preciseNowMs, sleep } from './workload.ts';

export const NODE_FAULT_KINDS = ['kill', 'pause', 'terminate', 'power-loss', 'full-disk', 'disk-enospc', 'link-cut', 'link-blackhole', 'link-delay', 'corrupt', 'fsync-fail', 'slow-disk'] as const;
/** Kinds that need every node on a tmpfs data dir (root only). */
export const TMPFS_FAULT_KINDS: readonly FaultKind[] = ['full-disk', 'disk-enospc'];
/** Kinds that need the nodes' fsync test hooks (FaultNode.diskHooks). */
export const FSYNC_HOOK_FAULT_KINDS: readonly FaultKind[] = ['fsync-fail', 'slow-disk'];
/** Node-to-node network faults: need a FaultCluster. */
export const PARTITION_FAULT_KINDS = ['partition-isolate', 'partition-halves', 'partition-one-way', 'partition-blackhole', 'partition-delay'] as const;
/**
 * Faults that hit every node at once, as a power cut to a rack or a data centre does (Jepsen's
 * coordinated power loss cost NATS 131,418 of 930,005 acknowledged messages): need a FaultCluster.
 */
export const CLUSTER_WIDE_FAULT_KINDS = ['cluster-kill', 'cluster-power-loss'] as const;
export const FAULT_KINDS = [...NODE_FAULT_KINDS, ...PARTITION_FAULT_KINDS, ...CLUSTER_WIDE_FAULT_KINDS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Kinds that need every node in power-loss mode (fsynced lengths journalled). */
export const POWER_LOSS_FAULT_KINDS: readonly FaultKind[] = ['power-loss', 'cluster-power-loss'];
/** Kinds that need a FaultCluster (--nodes 2 or more). */
export const MULTI_NODE_FAULT_KINDS: readonly FaultKind[] = [...PARTITION_FAULT_KINDS, ...CLUSTER_WIDE_FAULT_KINDS];
/** What a cluster run injects by default (the tmpfs kinds only where tmpfs can be mounted: see scripts/faults.ts). */
export const CLUSTER_DEFAULT_KINDS: readonly FaultKind[] = [
  'kill', 'pause', 'terminate', 'power-loss', 'corrupt', 'full-disk', 'disk-enospc', 'fsync-fail', 'slow-disk', 'link-cut', 'link-blackhole', 'link-delay', ...PARTITION_FAULT_KINDS,
  ...CLUSTER_WIDE_FAULT_KINDS,
];

export interface InjectedFault {
  kind: FaultKind;
  startedAtMs: number;
  healedAtMs: number;
  detail: Record<string, unknown>;
}

export interface FaultContext {
  /** The node a node fault hits (in a cluster: replaced per fault by the chosen target). */
  node: FaultNode;
  random: SeededRandom;
  topic: string;
  partitions: number;
  cluster?: FaultCluster;
}

/** How long 'fsync-fail' waits for the node to halt (it halts at its next fsync: within ms under load). */
const FSYNC_HALT_WAIT_MS = 20_000;

/** Left free by 'full-disk': under 10 % of the tmpfs the fault runs use, more than a second of writes. */
const FULL_DISK_LEAVE_FREE_BYTES = 2 * 1024 * 1024;

function between(random: SeededRandom, lowMs: number, highMs: number): number {
  return lowMs + random.nextInt(highMs - lowMs + 1);
}

/** Injects one fault and heals it (restart, thaw, free the disk, restore the link). */
export async function injectFault(kind: FaultKind, context: FaultContext): Promise<InjectedFault> {
  const { node, random } = context;
  const startedAtMs = preciseNowMs();
  const detail: Record<string, unknown> = {};
  switch (kind) {
    case 'kill': {
      await node.kill();
      const downMs = context.cluster ? between(random, 0, 4000) : between(random, 0, 500);
      detail['downMs'] = downMs;
      await sleep(downMs);
      await node.start();
      break;
    }
    case 'terminate': {
      const exit = await node.terminate();
      detail['exitCode'] = exit.code;
      await node.start();
      break;
    }
    case 'pause': {
      // In a cluster some pauses outlast the broker session: the node comes back deposed.
      const pauseMs = context.cluster ? between(random, 300, 6000) : between(random, 300, 2500);
      detail['pauseMs'] = pauseMs;
      await node.pause(pauseMs);
      break;
    }
    case 'power-loss': {
      const report = await node.powerLoss();
      detail['segmentsCut'] = report.segmentsCut;
      detail['bytesDropped'] = report.bytesDropped;
      await node.start();
      break;
    }
    case 'corrupt': {
      // In a cluster the damaged replica must cut its log at the damage, refetch the rest from the
      // leader and rejoin the ISR; sometimes it stays down past the broker session (fenced first).
      await node.kill();
      const partition = random.nextInt(context.partitions);
      const corruption = node.corruptSegment(`${context.topic}-${partition}`, random.nextInt(2) === 0 ? 'bitflip' : 'truncate', random.nextFloat(), random.nextInt(8));
      Object.assign(detail, { partition, ...(corruption ?? { skipped: 'no batch to corrupt' }) });
      if (context.cluster) {
        const downMs = between(random, 0, 4000);
        detail['downMs'] = downMs;
        await sleep(downMs);
      }
      await node.start();
      break;
    }
    case 'fsync-fail': {
      // Every fsync of the node's partition logs fails with EIO: it must halt (exit 74) rather
      // than carry on; healed as an operator would: the disk replaced (trigger removed), restarted.
      const exit = await node.failFsync(FSYNC_HALT_WAIT_MS);
      Object.assign(detail, { exitCode: exit.code, halted: exit.halted });
      const downMs = context.cluster ? between(random, 0, 2000) : between(random, 0, 500);
      detail['downMs'] = downMs;
      await sleep(downMs);
      await node.start();
      break;
    }
    case 'slow-disk': {
      // Segment fsyncs take 50-500 ms longer: acks=all waits on them; a slow follower may leave
      // the ISR (replica.lag.time.max.ms) and must rejoin once the disk is fast again.
      const lowMs = between(random, 50, 250);
      const highMs = between(random, lowMs, 500);
      const slowMs = context.cluster ? between(random, 2000, 8000) : between(random, 1000, 3000);
      Object.assign(detail, { fsyncDelayMs: `${lowMs}-${highMs}`, slowMs });
      node.slowDisk(`${lowMs}-${highMs}`);
      await sleep(slowMs);
      node.fastDisk();
      break;
    }
    case 'full-disk': {
      // Past disk.max.used.ratio but with room left: the node's disk guard (sampled every second)
      // must refuse appends before the file system does, and accept them again once freed.
      const filler = node.fillDisk(FULL_DISK_LEAVE_FREE_BYTES);
      const fullMs = between(random, 1500, 3000);
      detail['fullMs'] = fullMs;
      await sleep(fullMs);
      node.freeDisk(filler);
      break;
    }
    case 'disk-enospc': {
      // Really full: writes fail with ENOSPC and the partition logs stop (they refuse everything
      // until reopened). Healed as an operator would: free space, restart the node.
      const filler = node.fillDisk(0);
      const fullMs = between(random, 500, 1500);
      detail['fullMs'] = fullMs;
      await sleep(fullMs);
      node.freeDisk(filler);
      // A node whose metadata log met ENOSPC has already exited (as Kafka's broker does when its
      // metadata log dir fails); the others are stopped here. Either way it restarts.
      detail['exitedByItself'] = !node.running;
      if (node.running) await node.kill();
      await node.start();
      break;
    }
    case 'link-cut':
    case 'link-blackhole':
    case 'link-delay': {
      const faultMs = context.cluster ? between(random, 1000, 6000) : between(random, 300, 2000);
      detail['faultMs'] = faultMs;
      // In a cluster only the clients' connections to the node are hit; its peers still reach it.
      const clients = context.cluster ? { from: CLIENT_SOURCE } : {};
      if (kind === 'link-cut') node.proxy.cut(node.linkName, clients);
      else if (kind === 'link-blackhole') node.proxy.blackHole(node.linkName, clients);
      else {
        const delayMs = between(random, 20, 150);
        node.proxy.delay(node.linkName, delayMs, Math.floor(delayMs / 2), clients);
        detail['delayMs'] = delayMs;
      }
      await sleep(faultMs);
      node.proxy.pass(node.linkName, clients);
      break;
    }
    case 'partition-isolate':
    case 'partition-halves':
    case 'partition-one-way':
    case 'partition-blackhole':
    case 'partition-delay': {
      const cluster = context.cluster;
      if (cluster === undefined) throw new Error(`${kind} needs a cluster (--nodes > 1)`);
      const target = node.nodeId;
      const others = cluster.ids.filter((id) => id !== target);
      const faultMs = between(random, 1500, 8000);
      detail['faultMs'] = faultMs;
      if (kind === 'partition-isolate') cluster.isolate(target);
      else if (kind === 'partition-blackhole') cluster.isolate(target, 'blackhole');
      else if (kind === 'partition-halves') {
        // The minority holds the target plus (for 5+ nodes) more; the clients sit on one side.
        const extra = shuffled(others, random).slice(0, Math.max(0, Math.floor((cluster.size - 1) / 2) - 1));
        const minority = [target, ...extra];
        const majority = cluster.ids.filter((id) => !minority.includes(id));
        const clientsWithMinority = random.nextInt(2) === 0;
        for (const a of minority) for (const b of majority) cluster.sever(a, b);
        for (const id of clientsWithMinority ? majority : minority) cluster.setClientPath(id, { kind: 'cut' });
        Object.assign(detail, { minority, majority, clients: clientsWithMinority ? 'minority' : 'majority' });
      } else if (kind === 'partition-one-way') {
        const outbound = random.nextInt(2) === 0;
        for (const other of others) {
          if (outbound) cluster.dropOneWay(target, other);
          else cluster.dropOneWay(other, target);
        }
        detail['dropped'] = outbound ? `from ${target} to the others` : `from the others to ${target}`;
      } else {
        const delayMs = between(random, 20, 200);
        cluster.slowNode(target, delayMs, Math.floor(delayMs / 2));
        detail['delayMs'] = delayMs;
      }
      await sleep(faultMs);
      cluster.heal();
      break;
    }
    case 'cluster-kill':
    case 'cluster-power-loss': {
      const cluster = context.cluster;
      if (cluster === undefined) throw new Error(`${kind} needs a cluster (--nodes > 1)`);
      const nodes = cluster.ids.map((id) => cluster.node(id));
      // Every SIGKILL goes out in the same tick (each kill() signals before its first await).
      if (kind === 'cluster-kill') await Promise.all(nodes.map((each) => each.kill()));
      else {
        const reports = await Promise.all(nodes.map((each) => each.powerLoss()));
        detail['segmentsCut'] = reports.reduce((sum, report) => sum + report.segmentsCut, 0);
        detail['bytesDropped'] = reports.reduce((sum, report) => sum + report.bytesDropped, 0);
      }
      const downMs = between(random, 0, 3000);
      detail['downMs'] = downMs;
      await sleep(downMs);
      // Together: a node waits for a controller quorum before it is ready.
      await Promise.all(nodes.map((each) => each.start()));
      break;
    }
  }
  return { kind, startedAtMs, healedAtMs: preciseNowMs(), detail };
}

const CLIENT_SOURCE = '127.0.0.1';
const TARGET_ROLES = ['partition-leader', 'controller', 'any'] as const;

/**
 * In a cluster: picks the node a fault hits (seeded role: the leader of a seeded partition, the
 * active controller, or a seeded node; the role is resolved against the live cluster) and injects.
 */
export async function injectClusterFault(kind: FaultKind, context: FaultContext & { cluster: FaultCluster }): Promise<InjectedFault> {
  const { cluster, random } = context;
  // Every draw is made whatever the branch, so the rest of the schedule replays.
  const role = TARGET_ROLES[random.nextInt(TARGET_ROLES.length)]!;
  const partition = random.nextInt(context.partitions);
  const anyNode = cluster.ids[random.nextInt(cluster.ids.length)]!;
  let target: number | null = null;
  if (role === 'partition-leader') target = await cluster.leaderOf(context.topic, partition);
  else if (role === 'controller') target = await cluster.controllerId();
  if (target === null || !cluster.nodes.has(target)) target = anyNode;
  const fault = await injectFault(kind, { ...context, node: cluster.node(target) });
  const wholeCluster = (CLUSTER_WIDE_FAULT_KINDS as readonly FaultKind[]).includes(kind);
  fault.detail = wholeCluster ? { node: 'all', ...fault.detail } : { node: target, role: role === 'partition-leader' ? `leader of p${partition}` : role, ...fault.detail };
  return fault;
}

export interface ScheduleOptions {
  kinds: readonly FaultKind[];
  /** Stop after this many faults or once durationMs has passed, whichever is first. */
  maxFaults: number;
  durationMs: number;
  /** Calm time between faults, drawn uniformly from this range. */
  calmMs: [number, number];
  /** Inject every kind once first (in a seeded order), then draw at random. */
  coverEachKind?: boolean;
  /** Called between faults (progress lines). */
  onFault?: (fault: InjectedFault, index: number) => void;
  /** Awaited before each fault's calm time (a cluster waits for its ISRs to be full again). */
  beforeFault?: () => Promise<void>;
}

export async function runSchedule(context: FaultContext, options: ScheduleOptions): Promise<InjectedFault[]> {
  const faults: InjectedFault[] = [];
  const deadline = Date.now() + options.durationMs;
  const firstRound = options.coverEachKind === true ? shuffled(options.kinds, context.random) : [];
  for (let index = 0; index < options.maxFaults && (Date.now() < deadline || index < firstRound.length); index++) {
    await options.beforeFault?.();
    await sleep(between(context.random, options.calmMs[0], options.calmMs[1]));
    const kind = firstRound[index] ?? options.kinds[context.random.nextInt(options.kinds.length)]!;
    const cluster = context.cluster;
    const fault = cluster ? await injectClusterFault(kind, { ...context, cluster }) : await injectFault(kind, context);
    faults.push(fault);
    options.onFault?.(fault, index);
  }
  return faults;
}

function shuffled<T>(items: readonly T[], random: SeededRandom): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = random.nextInt(index + 1);
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

/**
 * Per fault: ms from `from` (its start, or with 'healed' its end) to the first acknowledgement of
 * a send issued after that moment; null if none was acknowledged.
 */
export function unavailabilityMs(faults: readonly InjectedFault[], sends: readonly TimedSend[], from: 'started' | 'healed' = 'started'): { kind: FaultKind; ms: number | null }[] {
  const acked = sends.filter((send) => send.outcome.kind === 'acked').sort((a, b) => a.startedAtMs - b.startedAtMs);
  // earliestCompletion[i]: the first acknowledgement among sends acked[i..], issued at or after acked[i].
  const earliestCompletion = new Array<number>(acked.length + 1).fill(Infinity);
  for (let i = acked.length - 1; i >= 0; i--) earliestCompletion[i] = Math.min(acked[i]!.completedAtMs, earliestCompletion[i + 1]!);
  return faults.map((fault) => {
    const momentMs = from === 'started' ? fault.startedAtMs : fault.healedAtMs;
    let low = 0;
    let high = acked.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (acked[middle]!.startedAtMs <= momentMs) low = middle + 1;
      else high = middle;
    }
    const first = earliestCompletion[low]!;
    return { kind: fault.kind, ms: Number.isFinite(first) ? first - momentMs : null };
  });
}

export interface Percentiles { count: number; p50: number; p99: number; max: number; neverRecovered: number }

export function unavailabilityByKind(samples: { kind: FaultKind; ms: number | null }[]): Partial<Record<FaultKind, Percentiles>> {
  const byKind: Partial<Record<FaultKind, Percentiles>> = {};
  for (const kind of new Set(samples.map((sample) => sample.kind))) {
    const ofKind = samples.filter((sample) => sample.kind === kind);
    const values = ofKind.map((sample) => sample.ms).filter((ms): ms is number => ms !== null).sort((a, b) => a - b);
    byKind[kind] = {
      count: ofKind.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: Math.round(values.at(-1) ?? 0),
      neverRecovered: ofKind.length - values.length,
    };
  }
  return byKind;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!);
}

export function countByKind(faults: readonly InjectedFault[]): Partial<Record<FaultKind, number>> {
  const counts: Partial<Record<FaultKind, number>> = {};
  for (const fault of faults) counts[fault.kind] = (counts[fault.kind] ?? 0) + 1;
  return counts;
}
