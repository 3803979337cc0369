// CPU use of the bench client and of the node over one measured phase, in percent of one core
// (above 100 when threads work in parallel, e.g. libuv's file system pool). On a 2-core machine
// client and node share the CPUs, so these say whether a figure is CPU-bound and on which side.
import { readFileSync } from 'node:fs';

// Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ is 100 on every Linux build).
const CLOCK_TICKS_PER_SECOND = 100;

export interface CpuUse {
  clientPercent: number;
  /** null off Linux (no /proc). With several nodes (a cluster), their sum. */
  nodePercent: number | null;
  /** Each node's share, in the order given, when there are several. */
  nodesPercent?: Array<number | null>;
}

export class CpuMeter {
  private readonly startWallNs = process.hrtime.bigint();
  private readonly startClient = process.cpuUsage();
  private readonly nodePids: number[];
  private readonly startNodesMs: Array<number | null>;

  constructor(nodePid: number | number[] | undefined) {
    this.nodePids = nodePid === undefined ? [] : Array.isArray(nodePid) ? nodePid : [nodePid];
    this.startNodesMs = this.nodePids.map(processCpuMs);
  }

  stop(): CpuUse {
    const wallMs = Number(process.hrtime.bigint() - this.startWallNs) / 1e6;
    const client = process.cpuUsage(this.startClient);
    const percent = (cpuMs: number) => (wallMs <= 0 ? 0 : Math.round((100 * cpuMs) / wallMs));
    const nodesPercent = this.nodePids.map((pid, index) => {
      const nowMs = processCpuMs(pid);
      const startMs = this.startNodesMs[index] ?? null;
      return nowMs === null || startMs === null ? null : percent(nowMs - startMs);
    });
    const known = nodesPercent.filter((value): value is number => value !== null);
    return {
      clientPercent: percent((client.user + client.system) / 1000),
      nodePercent: known.length === 0 || known.length < nodesPercent.length ? null : known.reduce((sum, value) => sum + value, 0),
      ...(nodesPercent.length > 1 ? { nodesPercent } : {}),
    };
  }
}

/** User + system CPU time of a process in ms, from /proc/<pid>/stat; null when unavailable. */
function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
