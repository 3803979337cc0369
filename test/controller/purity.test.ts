// Proves the cluster controller logic stays deterministic: the records codec, the image builder,
// placement, elections, validation and the quorum controller import no I/O or timer modules and
// never read the clock or a random source themselves. Time and topic ids come in through
// ControllerDeps, so the same requests at the same times always give the same log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const controllerDirectory = join(import.meta.dirname, '..', '..', 'src', 'controller');
const pureFiles = ['metadata-records.ts', 'metadata-image-builder.ts', 'placement.ts', 'partition-election.ts', 'leader-balance.ts', 'elect-leaders-plan.ts', 'quorum-controller.ts', 'leadership-records.ts', 'broker-request-checks.ts', 'topic-validation.ts'];

const forbiddenModules = /from\s+'node:(fs|fs\/promises|net|dgram|child_process|timers|timers\/promises|worker_threads|http|https|tls|crypto)'/;
const forbiddenCalls = [/\bDate\s*\.\s*now\b/, /\bnew\s+Date\b/, /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bMath\s*\.\s*random\b/, /\bperformance\s*\.\s*now\b/, /\bprocess\s*\.\s*hrtime\b/, /\brandomUUID\b/];

test('controller logic files do no I/O and read no clock or randomness', () => {
  for (const file of pureFiles) {
    const source = readFileSync(join(controllerDirectory, file), 'utf8');
    assert.doesNotMatch(source, forbiddenModules, `${file} imports an I/O module`);
    for (const pattern of forbiddenCalls) assert.doesNotMatch(source, pattern, `${file} uses ${pattern}`);
  }
});
