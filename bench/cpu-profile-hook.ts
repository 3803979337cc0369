// Preloaded into a node (NODE_OPTIONS=--import) when the bench runs with --profile-dir: Node
// refuses --cpu-prof in NODE_OPTIONS, so this starts the V8 profiler through the inspector and
// writes a .cpuprofile (open it in Chrome DevTools or speedscope) when the process exits. The
// variable is not TIDE_*: the node refuses TIDE_ variables that name no configuration key.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const directory = process.env['BENCH_CPU_PROFILE_DIR'];
if (directory) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // A same-thread inspector session answers synchronously, so this works inside 'exit'.
  process.once('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      writeFileSync(join(directory, `tide-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
