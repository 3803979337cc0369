// The command line shared by the seeded simulators (Raft: test/sim/cli.ts; replication:
// test/replication/sim/cli.ts): --seeds N [--start S] runs many seeds, --seed N [--trace] replays
// one, --mutation M runs with a deliberate bug, --max-events N caps each seed. Prints JSON and
// exits 1 if any seed broke an invariant, 2 on a usage error.
import { randomInt } from 'node:crypto';

interface SeedOutcome {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly virtualTimeMs: number;
  readonly recoveryMs: number | undefined;
  readonly counters: unknown;
  readonly parameters: unknown;
}

interface RunOptions<M> {
  mutation?: M;
  maxEvents?: number;
}

export interface SeedCli<M extends string> {
  defaultSeeds: number;
  mutations: readonly M[];
  runSeed(options: RunOptions<M> & { seed: number; trace?: (line: string) => void }): SeedOutcome;
  runSeeds(start: number, count: number, options: RunOptions<M>): { failures: readonly unknown[] };
  replayCommand(seed: number, options: RunOptions<M>): string;
}

interface CliOptions<M> {
  seeds: number;
  start: number | undefined;
  seed: number | undefined;
  trace: boolean;
  mutation: M | undefined;
  maxEvents: number | undefined;
}

function parseArguments<M extends string>(argv: readonly string[], cli: SeedCli<M>): CliOptions<M> {
  const options: CliOptions<M> = { seeds: cli.defaultSeeds, start: undefined, seed: undefined, trace: false, mutation: undefined, maxEvents: undefined };
  const integer = (name: string, value: string | undefined): number => {
    const parsed = Number(value);
    if (value === undefined || !Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`${name} needs a non-negative integer, got ${value}`);
    return parsed;
  };
  for (let at = 0; at < argv.length; at++) {
    const argument = argv[at]!;
    switch (argument) {
      case '--seeds': options.seeds = integer(argument, argv[++at]); break;
      case '--start': options.start = integer(argument, argv[++at]); break;
      case '--seed': options.seed = integer(argument, argv[++at]); break;
      case '--max-events': options.maxEvents = integer(argument, argv[++at]); break;
      case '--trace': case '--verbose': options.trace = true; break;
      case '--mutation': {
        const value = argv[++at] as M;
        if (!cli.mutations.includes(value)) throw new Error(`--mutation must be one of ${cli.mutations.join(', ')}`);
        options.mutation = value;
        break;
      }
      default: throw new Error(`unknown argument ${argument}`);
    }
  }
  return options;
}

function run<M extends string>(argv: readonly string[], cli: SeedCli<M>): number {
  const options = parseArguments(argv, cli);
  const common: RunOptions<M> = { ...(options.mutation ? { mutation: options.mutation } : {}), ...(options.maxEvents ? { maxEvents: options.maxEvents } : {}) };
  if (options.seed !== undefined) {
    const began = performance.now();
    const result = cli.runSeed({ seed: options.seed, ...common, ...(options.trace ? { trace: (line: string) => process.stderr.write(line + '\n') } : {}) });
    const output = {
      seed: result.seed, ok: result.ok, elapsedMs: Math.round(performance.now() - began), virtualTimeMs: result.virtualTimeMs,
      recoveryMs: result.recoveryMs, violations: result.violations, counters: result.counters, parameters: result.parameters,
      ...(result.ok ? {} : { replay: cli.replayCommand(result.seed, common) }),
    };
    process.stdout.write(JSON.stringify(output, null, 2) + '\n');
    return result.ok ? 0 : 1;
  }
  const start = options.start ?? randomInt(1, 2 ** 47);
  const summary = cli.runSeeds(start, options.seeds, common);
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  return summary.failures.length === 0 ? 0 : 1;
}

/** Runs a simulator's command line and sets the exit code. */
export function runSeedCli<M extends string>(cli: SeedCli<M>): void {
  try {
    process.exitCode = run(process.argv.slice(2), cli);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}
