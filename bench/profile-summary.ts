// Prints where a node spent its CPU, from a .cpuprofile written with `npm run bench --
// --profile-dir DIR`: the top functions by self time, and the share of time idle, in GC and in
// each source folder.
//   node --import tsx bench/profile-summary.ts DIR/tide-1234.cpuprofile [top]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const MAX_TOP = 200;

function summarize(path: string, top: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  let totalUs = 0;
  for (const us of selfUs.values()) totalUs += us;

  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/work\/main\//, '');
    // No line numbers: for TypeScript they are positions in tsx's output, not in the source.
    const name = `${frame.functionName || '(anonymous)'} ${file}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byArea.set(area(frame.functionName, file), (byArea.get(area(frame.functionName, file)) ?? 0) + us);
  }
  const percent = (us: number) => `${((100 * us) / Math.max(1, totalUs)).toFixed(1).padStart(5)} %`;
  process.stdout.write(`${path}: ${(totalUs / 1e6).toFixed(1)} s sampled\n\nby area (self time):\n`);
  for (const [name, us] of [...byArea].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${percent(us)}  ${name}\n`);
  process.stdout.write(`\ntop ${top} functions (self time):\n`);
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${percent(us)}  ${name}\n`);
}

function area(functionName: string, file: string): string {
  if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') return functionName;
  if (file === '') return '(native / runtime)';
  if (file.startsWith('node:')) return file.split('/')[0]!.replace(/^node:internal.*/, 'node:internal');
  if (file.includes('node_modules/')) return `node_modules/${file.split('node_modules/')[1]!.split('/')[0]}`;
  const parts = file.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : file;
}

const [path, topText] = process.argv.slice(2);
if (!path) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [top]\n');
  process.exitCode = 2;
} else {
  summarize(path, Math.min(MAX_TOP, Number(topText ?? 25)));
}
