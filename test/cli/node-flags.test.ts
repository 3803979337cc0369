// The Node/V8 flags a Tide node runs with are written in three places that cannot import one
// another (bin/tide.js's shebang, the `start` script, src/cli/node-flags.ts for spawned nodes):
// this keeps them in step, and checks that a node started the way `npm start` does has them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TIDE_NODE_FLAGS } from '../../src/cli/node-flags.ts';
import { removeDir, startTide, stopTide } from '../helpers/tide-process.ts';

const root = join(import.meta.dirname, '..', '..');

test('the shebang of bin/tide.js and the start script carry TIDE_NODE_FLAGS', () => {
  const shebang = readFileSync(join(root, 'bin', 'tide.js'), 'utf8').split('\n')[0]!;
  assert.equal(shebang, `#!/usr/bin/env -S node ${TIDE_NODE_FLAGS.join(' ')}`);
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts['start'], `node ${TIDE_NODE_FLAGS.join(' ')} bin/tide.js start`);
});

test('a spawned node runs with TIDE_NODE_FLAGS', async () => {
  const node = await startTide();
  try {
    const commandLine = readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').split('\0');
    for (const flag of TIDE_NODE_FLAGS) assert.ok(commandLine.includes(flag), `${flag} in ${commandLine.join(' ')}`);
  } finally {
    await stopTide(node);
    await removeDir(node.dataDir);
  }
});
