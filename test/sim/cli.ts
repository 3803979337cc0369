// The Raft simulator from the command line:
//   npm run sim -- --seeds 100000 [--start S]   run many seeds (start defaults to a random one)
//   npm run sim -- --seed N [--trace]           replay one seed, optionally with an event trace
//   --mutation skip-vote-persist|lose-unsynced-entries   run with a deliberate bug (must fail)
//   --max-events N                               per-seed event cap (default as in npm test)
// Prints a JSON summary (seeds, seeds/s, events, counters, violations, a replay line per failure)
// and exits 1 if any seed broke an invariant.
import { mutations, runSeed } from './simulation.ts';
import { replayCommand, runSeeds } from './run-seeds.ts';
import { runSeedCli } from './seed-cli.ts';

runSeedCli({ defaultSeeds: 1000, mutations, runSeed, runSeeds, replayCommand });
