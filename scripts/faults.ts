// `npm run faults -- --minutes 30 [--seed N] [--nodes 1|3] [--flush sync|async] [--kinds a,b]`:
// a long seeded fault schedule against real Tide processes (see docs/fault-testing.md), then the
// history checker. With --nodes 3 (or more) a cluster runs with every node-to-node and client
// link through the fault proxy, and partitions join the process faults. One JSON report on stdout (progress on stderr): seed, commit, config, faults
// injected by kind, messages acknowledged / lost / duplicated / inconsistent, every checker count,
// unavailability and recovery per fault kind (p50/p99/max), and the command that replays the run.
// Exit status 1 when the checker finds an anomaly that the chosen flush mode must not have.
// `npm run -s faults -- ... > report.json` keeps npm's own banner out of stdout.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { canMountTmpfs } from '../src/chaos/disk-faults.ts';
import { CLUSTER_NODE_ARGS, runFaultPass } from '../test/fault/run-pass.ts';
import { CLUSTER_DEFAULT_KINDS, FAULT_KINDS, MULTI_NODE_FAULT_KINDS, POWER_LOSS_FAULT_KINDS, TMPFS_FAULT_KINDS, type FaultKind } from '../test/fault/schedule.ts';

const MAX_MINUTES = 24 * 60;

function fail(message: string): never {
  process.stderr.write(`faults: ${message}\n`);
  process.exit(2);
}

function positiveInteger(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || value > max) fail(`--${name} must be an integer in [0, ${max}], got ${text}`);
  return value;
}

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seed: { type: 'string' },
    nodes: { type: 'string' },
    flush: { type: 'string' },
    kinds: { type: 'string' },
    partitions: { type: 'string' },
    producers: { type: 'string' },
    batch: { type: 'string' },
    'interval-ms': { type: 'string' },
    'calm-ms': { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write(`npm run faults -- [--minutes 30] [--seed N] [--nodes 1|3] [--flush sync|async] [--kinds ${FAULT_KINDS.join(',')}]
                  [--partitions 3] [--producers 4] [--batch 2] [--interval-ms 10] [--calm-ms 3000-10000]
`);
  process.exit(0);
}

const minutes = Number(values.minutes ?? '30');
if (!(minutes > 0 && minutes <= MAX_MINUTES)) fail(`--minutes must be in (0, ${MAX_MINUTES}]`);
const seed = positiveInteger('seed', values.seed, Date.now() % 1_000_000_007, Number.MAX_SAFE_INTEGER);
const nodes = positiveInteger('nodes', values.nodes, 1, 9);
if (nodes < 1 || nodes > 9) fail('--nodes must be in [1, 9]');
const flush = values.flush ?? 'sync';
if (flush !== 'sync' && flush !== 'async') fail('--flush must be sync or async');

const probeDir = mkdtempSync(join(tmpdir(), 'tide-tmpfs-probe-'));
const tmpfsWorks = canMountTmpfs(probeDir);
rmdirSync(probeDir);
const defaultKinds = (nodes > 1 ? [...CLUSTER_DEFAULT_KINDS] : FAULT_KINDS.filter((kind) => kind !== 'corrupt' && !MULTI_NODE_FAULT_KINDS.includes(kind)))
  .filter((kind) => tmpfsWorks || !TMPFS_FAULT_KINDS.includes(kind));
const kinds = (values.kinds?.split(',') ?? defaultKinds) as FaultKind[];
for (const kind of kinds) if (!FAULT_KINDS.includes(kind)) fail(`unknown fault kind ${kind} (known: ${FAULT_KINDS.join(', ')})`);
if (nodes === 1 && kinds.some((kind) => MULTI_NODE_FAULT_KINDS.includes(kind))) fail(`${MULTI_NODE_FAULT_KINDS.join(', ')} need --nodes 2 or more`);
if (!tmpfsWorks && kinds.some((kind) => TMPFS_FAULT_KINDS.includes(kind))) fail(`${TMPFS_FAULT_KINDS.join(', ')} need a tmpfs mount (run as root)`);
const calm = (values['calm-ms'] ?? '3000-10000').split('-').map(Number);
if (calm.length !== 2 || !calm.every((ms) => Number.isSafeInteger(ms) && ms >= 0) || calm[0]! > calm[1]!) fail('--calm-ms must be LOW-HIGH in ms');

const settings = {
  seed, flush, kinds, minutes, nodes,
  partitions: positiveInteger('partitions', values.partitions, 3, 1000),
  producers: positiveInteger('producers', values.producers, 4, 64),
  batchSize: positiveInteger('batch', values.batch, 2, 1000),
  sendIntervalMs: positiveInteger('interval-ms', values['interval-ms'], 10, 60_000),
  calmMs: [calm[0]!, calm[1]!] as [number, number],
};

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  // not a git checkout: the report says unknown
}

const replay = [
  'npm run faults --', '--minutes', String(minutes), '--seed', String(seed), '--nodes', String(nodes), '--flush', flush,
  '--kinds', kinds.join(','), '--partitions', String(settings.partitions), '--producers', String(settings.producers),
  '--batch', String(settings.batchSize), '--interval-ms', String(settings.sendIntervalMs), '--calm-ms', `${settings.calmMs[0]}-${settings.calmMs[1]}`,
].join(' ');
process.stderr.write(`faults: seed ${seed}, ${minutes} min, ${nodes} node(s), flush=${flush}, kinds ${kinds.join(',')}\nfaults: replay with: ${replay}\n`);

const result = await runFaultPass({
  seed, nodes, flush, kinds, keepFilesOnAnomaly: true, maxFaults: 1_000_000, coverEachKind: true, groupCommits: true, durationMs: minutes * 60_000, calmMs: settings.calmMs,
  partitions: settings.partitions, producers: settings.producers, batchSize: settings.batchSize, sendIntervalMs: settings.sendIntervalMs,
  ...(kinds.some((kind) => TMPFS_FAULT_KINDS.includes(kind)) ? { tmpfsBytes: 256 * 1024 * 1024 } : {}),
  log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
});

const { counts } = result.check;
// What each mode must never do. async may lose (and then reuse offsets) under power loss only; on
// one node a corrupted segment loses its tail (no replica to repair it from), in a cluster nothing.
const singleNodeCorruption = nodes === 1 && kinds.includes('corrupt');
const powerLossRan = POWER_LOSS_FAULT_KINDS.some((kind) => (result.faultsByKind[kind] ?? 0) > 0) || (singleNodeCorruption && (result.faultsByKind['corrupt'] ?? 0) > 0);
const mustBeZero = flush === 'sync' && !singleNodeCorruption ? ['lost', 'duplicate', 'inconsistentOffset', 'ackedOffsetMismatch', 'unexpected', 'nonmonotonicPoll', 'pollSkip', 'nonmonotonicSend', 'hwBackwards', 'committedBackwards', 'failedVisible'] as const
  : powerLossRan ? ['duplicate', 'unexpected'] as const
  : ['lost', 'duplicate', 'inconsistentOffset', 'unexpected', 'hwBackwards'] as const;
const violations = mustBeZero.filter((kind) => counts[kind] > 0);

const report = {
  seed, commit, config: { ...settings, ...(nodes > 1 ? { nodeArgs: CLUSTER_NODE_ARGS, replicationFactor: nodes, minInsyncReplicas: 2 } : {}) },
  faultsInjected: result.faults.length,
  faultsByKind: result.faultsByKind,
  messages: { acknowledged: counts.acked, acknowledgedDuringFaults: result.ackedDuringFaults, indeterminate: counts.indeterminate, lost: counts.lost, duplicated: counts.duplicate, inconsistentOffsets: counts.inconsistentOffset },
  checker: result.check,
  unavailabilityMs: result.unavailabilityMs,
  recoveryMs: result.recoveryMs,
  readErrorsBeforeFinalRestart: result.readErrors,
  ...(nodes > 1 ? { isrNotFullBeforeFault: result.isrNotFullBeforeFault } : {}),
  samples: result.samples,
  logs: result.logs,
  durationMs: result.durationMs,
  verdict: violations.length === 0 ? 'pass' : 'fail',
  violations,
  replay,
};
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
process.exit(violations.length === 0 ? 0 : 1);
