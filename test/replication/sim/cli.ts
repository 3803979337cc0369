// The replication simulator from the command line:
//   node --import tsx test/replication/sim/cli.ts --seeds N [--start S]   run many seeds (start defaults to a random one)
//   node --import tsx test/replication/sim/cli.ts --seed N [--trace]      replay one seed, optionally with an event trace
//   --mutation truncate-to-hw|elect-outside-isr                           run with a deliberate bug (must fail)
//   --max-events N                                                        per-seed event cap for the faulty phase
// Prints a JSON summary and exits 1 if any seed broke an invariant.
import { mutations, runSeed } from './simulation.ts';
import { replayCommand, runSeeds } from './run-seeds.ts';
import { runSeedCli } from '../../sim/seed-cli.ts';

runSeedCli({ defaultSeeds: 500, mutations, runSeed, runSeeds, replayCommand });
