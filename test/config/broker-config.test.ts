// Proves configuration loads in the documented order (defaults < file < environment < flags),
// refuses unknown keys and bad values with a message naming the key, and that
// docs/configuration.md is generated from the same definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerConfig, parseProperties } from '../../src/config/broker-config.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { renderConfigurationDoc } from '../../src/config/config-doc.ts';
import { validateTopicConfig, topicNameProblem } from '../../src/config/topic-config.ts';

test('defaults, file, environment and flags apply in order', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'tide.properties');
  writeFileSync(file, '# comment\nnum.partitions=3\nlog.segment.bytes = 2048000\nlisten=127.0.0.1:19092\n');
  const config = BrokerConfig.load({
    file,
    env: { TIDE_NUM_PARTITIONS: '4', PATH: '/usr/bin', TIDE_LOG_LEVEL: 'debug' },
    overrides: { 'num.partitions': '5' },
  });
  assert.equal(config.int('num.partitions'), 5);
  assert.equal(config.int('log.segment.bytes'), 2_048_000);
  assert.deepEqual(config.hostPort('listen'), { host: '127.0.0.1', port: 19092 });
  assert.equal(config.int('socket.request.max.bytes'), 100 * 1024 * 1024);
  assert.equal(config.topicDefaults()['segment.bytes'], '2048000');
});

test('unknown keys and bad values are refused naming the key', () => {
  assert.throws(() => BrokerConfig.load({ overrides: { 'no.such.key': '1' } }), (error: Error) => error instanceof ConfigError && /no\.such\.key/.test(error.message));
  assert.throws(() => BrokerConfig.load({ overrides: { 'num.partitions': 'many' } }), /num\.partitions.*not a whole number/);
  assert.throws(() => BrokerConfig.load({ overrides: { 'num.partitions': '0' } }), /num\.partitions.*below the minimum 1/);
  assert.throws(() => BrokerConfig.load({ overrides: { listen: 'localhost' } }), /listen.*host:port/);
  assert.throws(() => BrokerConfig.load({ overrides: { 'log.flush': 'sometimes' } }), /log\.flush.*sync, async/);
  assert.throws(() => BrokerConfig.load({ env: { TIDE_NOT_A_KEY: '1' } }), /TIDE_NOT_A_KEY/);
  assert.throws(() => parseProperties('just words\n', 'f'), /line 1/);
});

test('topic configs and names are validated as Kafka does', () => {
  assert.equal(validateTopicConfig('retention.ms', '1000'), '1000');
  assert.equal(validateTopicConfig('flush', 'sync'), 'sync');
  assert.throws(() => validateTopicConfig('retention.ms', 'soon'), /retention\.ms/);
  assert.throws(() => validateTopicConfig('bogus', '1'), /unknown topic config "bogus"/);
  assert.equal(topicNameProblem('orders.v1_eu-west'), null);
  assert.match(topicNameProblem('bad/name') ?? '', /characters/);
  assert.match(topicNameProblem('..') ?? '', /cannot be/);
  assert.match(topicNameProblem('x'.repeat(250)) ?? '', /longer/);
  assert.match(topicNameProblem('') ?? '', /empty/);
});

test('docs/configuration.md is generated from the definitions', () => {
  const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigurationDoc(), 'run: node --import tsx scripts/gen-config-doc.ts');
});
