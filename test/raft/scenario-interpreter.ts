// Reads and runs scenario scripts (after etcd-io/raft's testdata): one command per line; a query's
// expected output follows a `----` line and ends at a blank line. Commands that print nothing need
// no block; any output a block does not expect is a failure. Setting TIDE_REWRITE_SCENARIOS=1
// rewrites the blocks from the actual output, to be reviewed as a diff.
import { ScenarioCluster } from './scenario-cluster.ts';
import { describeMessage } from '../../src/raft/core/format.ts';
import type { NodeId } from '../../src/raft/core/types.ts';

type Chunk = { kind: 'raw'; line: string } | { kind: 'command'; line: string; lineNumber: number; expected: string[] };

export interface CommandResult {
  readonly line: string;
  readonly lineNumber: number;
  readonly expected: readonly string[];
  readonly actual: readonly string[];
}

export function parseScenario(text: string): Chunk[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const chunks: Chunk[] = [];
  for (let at = 0; at < lines.length; at++) {
    const line = lines[at]!;
    if (line.trim() === '' || line.startsWith('#')) {
      chunks.push({ kind: 'raw', line });
      continue;
    }
    const command: Chunk = { kind: 'command', line, lineNumber: at + 1, expected: [] };
    if (lines[at + 1] === '----') {
      at += 2;
      while (at < lines.length && lines[at] !== '') command.expected.push(lines[at++]!);
    }
    chunks.push(command);
  }
  return chunks;
}

export function runScenario(text: string): { results: CommandResult[]; rewritten: string } {
  const chunks = parseScenario(text);
  const interpreter = new Interpreter();
  const results: CommandResult[] = [];
  const out: string[] = [];
  for (const chunk of chunks) {
    if (chunk.kind === 'raw') {
      out.push(chunk.line);
      continue;
    }
    let actual: string[];
    try {
      actual = interpreter.run(chunk.line);
    } catch (error) {
      actual = [`error: ${(error as Error).message}`];
    }
    results.push({ line: chunk.line, lineNumber: chunk.lineNumber, expected: chunk.expected, actual });
    out.push(chunk.line);
    if (actual.length > 0) out.push('----', ...actual, '');
  }
  // Blocks end with a blank line; collapse the doubled blank a following raw blank line makes.
  const rewritten = out.join('\n').replace(/\n{3,}/g, '\n\n').replace(/\n*$/, '\n');
  return { results, rewritten };
}

class Interpreter {
  private cluster: ScenarioCluster | undefined;

  run(line: string): string[] {
    const [command, ...args] = line.trim().split(/\s+/);
    if (command === 'cluster') {
      this.cluster = createCluster(args);
      return [];
    }
    const cluster = this.cluster;
    if (!cluster) throw new Error('the first command must be `cluster`');
    const id = (at: number): NodeId => {
      const value = Number(args[at]);
      if (!Number.isInteger(value) || !cluster.nodes.has(value)) throw new Error(`bad node id ${args[at]}`);
      return value;
    };
    const ids = (): NodeId[] => (args.length === 0 ? [...cluster.nodes.keys()] : args.map((_, at) => id(at)));
    switch (command) {
      case 'campaign':
        cluster.raft(id(0)).campaign();
        return [];
      case 'tick': {
        const count = Number(args[1] ?? 1);
        for (let tick = 0; tick < count; tick++) cluster.raft(id(0)).tick();
        return [];
      }
      case 'tick-election':
        for (let tick = 0; tick < cluster.options.electionTicks; tick++) cluster.raft(id(0)).tick();
        return [];
      case 'tick-heartbeat':
        for (let tick = 0; tick < cluster.options.heartbeatTicks; tick++) cluster.raft(id(0)).tick();
        return [];
      case 'propose': {
        const error = cluster.propose(id(0), args.slice(1).join(' '));
        return error === undefined ? [] : [`refused: ${error}`];
      }
      case 'transfer-leadership':
        cluster.raft(id(0)).transferLeadership(id(1));
        return [];
      case 'process-ready':
        for (const node of ids()) cluster.processReady(node);
        return [];
      case 'deliver-msgs':
        for (const node of ids()) cluster.deliverTo(node);
        return [];
      case 'stabilize':
        cluster.stabilize();
        return [];
      case 'isolate':
        cluster.isolate(id(0));
        return [];
      case 'cut':
        cluster.cut(id(0), id(1));
        return [];
      case 'heal':
        cluster.heal();
        return [];
      case 'compact': {
        const snapshot = cluster.compact(id(0));
        return [`${id(0)}: snapshot at ${snapshot.metadata.index}/${snapshot.metadata.term}`];
      }
      case 'crash':
        cluster.crash(id(0));
        return [];
      case 'restart':
        cluster.restart(id(0));
        return [];
      case 'state':
        return ids().map((node) => cluster.stateLine(node));
      case 'log':
        return ids().flatMap((node) => cluster.logLines(node));
      case 'applied':
        return ids().map((node) => cluster.appliedLine(node));
      case 'msgs':
        return cluster.queued().map(describeMessage);
      default:
        throw new Error(`unknown command ${command}`);
    }
  }
}

function createCluster(args: string[]): ScenarioCluster {
  const settings = new Map<string, string>();
  for (const arg of args) {
    const [key, value] = arg.split('=');
    if (key === undefined || value === undefined) throw new Error(`expected key=value, got ${arg}`);
    settings.set(key, value);
  }
  const list = (key: string): NodeId[] => (settings.get(key) ?? '').split(',').filter((item) => item !== '').map(Number);
  const flag = (key: string, fallback: boolean): boolean => (settings.has(key) ? settings.get(key) === 'true' : fallback);
  return new ScenarioCluster({
    voters: list('voters'),
    learners: list('learners'),
    preVote: flag('prevote', true),
    checkQuorum: flag('checkquorum', true),
    electionTicks: Number(settings.get('election') ?? 10),
    heartbeatTicks: Number(settings.get('heartbeat') ?? 1),
    maxSizePerMessageBytes: Number(settings.get('max-msg-bytes') ?? 1024 * 1024),
  });
}
