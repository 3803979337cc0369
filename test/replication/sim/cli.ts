// The replication simulator from the command line:
//   node --import tsx test/replication/sim/cli.ts --seeds N [--start S]   run many seeds (start defaults to a random one)
//   node --import tsx test/replication/sim/cli.ts --seed N [--trace]      replay one seed, optionally with an event trace
//   --mutation truncate-to-hw|elect-outside-isr                           run with a deliberate bug (must fail)
//   --max-events N                                                        per-seed event cap for the faulty phase
// Prints a JSON summary and exits 1 if any seed broke an invariant.
import { randomInt } from 'node:crypto';
import { mutations, runSeed } from './simulation.ts';
import type { Mutation } from './simulation.ts';
import { replayCommand, runSeeds } from './run-seeds.ts';

interface CliOptions {
  seeds: number;
  start: number | undefined;
  seed: number | undefined;
  trace: boolean;
  mutation: Mutation | undefined;
  maxEvents: number | undefined;
}

function parseArguments(argv: readonly string[]): CliOptions {
  const options: CliOptions = { seeds: 500, start: undefined, seed: undefined, trace: false, mutation: undefined, maxEvents: undefined };
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
      case '--trace': options.trace = true; break;
      case '--mutation': {
        const value = argv[++at] as Mutation;
        if (!mutations.includes(value)) throw new Error(`--mutation must be one of ${mutations.join(', ')}`);
        options.mutation = value;
        break;
      }
      default: throw new Error(`unknown argument ${argument}`);
    }
  }
  return options;
}

function main(): number {
  const options = parseArguments(process.argv.slice(2));
  const common = { ...(options.mutation ? { mutation: options.mutation } : {}), ...(options.maxEvents ? { maxEvents: options.maxEvents } : {}) };
  if (options.seed !== undefined) {
    const began = performance.now();
    const result = runSeed({ seed: options.seed, ...common, ...(options.trace ? { trace: (line: string) => process.stderr.write(line + '\n') } : {}) });
    const output = {
      seed: result.seed, ok: result.ok, elapsedMs: Math.round(performance.now() - began), virtualTimeMs: result.virtualTimeMs,
      recoveryMs: result.recoveryMs, violations: result.violations, counters: result.counters, parameters: result.parameters,
      ...(result.ok ? {} : { replay: replayCommand(result.seed, common) }),
    };
    process.stdout.write(JSON.stringify(output, null, 2) + '\n');
    return result.ok ? 0 : 1;
  }
  const start = options.start ?? randomInt(1, 2 ** 47);
  const summary = runSeeds(start, options.seeds, common);
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  return summary.failures.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 2;
}
