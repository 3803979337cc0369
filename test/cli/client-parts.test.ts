// Proves the CLI client's pure parts: murmur2 matches Kafka's published values (so keyed records
// land where Kafka clients put them), the range and roundrobin assignors split partitions as
// Kafka's do and never assign a partition twice, --format compiles every field and rejects
// unknown ones, host:port parsing, and Kafka error codes become sentences naming the error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { murmur2, partitionForKey } from '../../src/cli/client/partitioner.ts';
import { rangeAssign, roundRobinAssign } from '../../src/cli/client/assignors.ts';
import { compileFormat, recordToJson } from '../../src/cli/record-format.ts';
import { parseHostPort } from '../../src/cli/client/tide-client.ts';
import { describeKafkaError } from '../../src/cli/client/kafka-errors.ts';
import { CliError } from '../../src/cli/cli-error.ts';

test('murmur2 matches the values in Kafka\'s UtilsTest', () => {
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, expected] of cases) assert.equal(murmur2(Buffer.from(key)), expected, key);
  assert.equal(partitionForKey(Buffer.from('foobar'), 7), (-790332482 & 0x7fffffff) % 7);
});

test('range gives consecutive ranges per topic, the first members one extra', () => {
  const plan = rangeAssign(
    [{ memberId: 'b', topics: ['t'] }, { memberId: 'a', topics: ['t', 'u'] }],
    new Map([['t', 5], ['u', 2]]),
  );
  assert.deepEqual(plan.get('a'), [{ topic: 't', partitions: [0, 1, 2] }, { topic: 'u', partitions: [0, 1] }]);
  assert.deepEqual(plan.get('b'), [{ topic: 't', partitions: [3, 4] }]);
});

test('roundrobin deals partitions in turn, skipping members not subscribed', () => {
  const plan = roundRobinAssign(
    [{ memberId: 'a', topics: ['t'] }, { memberId: 'b', topics: ['t', 'u'] }],
    new Map([['t', 3], ['u', 2]]),
  );
  assert.deepEqual(plan.get('a'), [{ topic: 't', partitions: [0, 2] }]);
  assert.deepEqual(plan.get('b'), [{ topic: 't', partitions: [1] }, { topic: 'u', partitions: [0, 1] }]);
});

test('both assignors hand out every subscribed partition exactly once', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 6 }),
    fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 3 }),
    (memberCount, counts) => {
      const topics = counts.map((_, index) => `t${index}`);
      const members = Array.from({ length: memberCount }, (_, index) => ({ memberId: `m${index}`, topics }));
      const partitionCounts = new Map(topics.map((topic, index) => [topic, counts[index]!]));
      for (const plan of [rangeAssign(members, partitionCounts), roundRobinAssign(members, partitionCounts)]) {
        const given = [...plan.values()].flat().flatMap((entry) => entry.partitions.map((p) => `${entry.topic}/${p}`));
        const wanted = topics.flatMap((topic, index) => Array.from({ length: counts[index]! }, (_, p) => `${topic}/${p}`));
        assert.deepEqual(given.sort(), wanted.sort());
      }
    },
  ), { numRuns: 200 });
});

test('--format renders every field and refuses unknown ones', () => {
  const record = {
    partition: 2, offset: 41, timestamp: 0, key: Buffer.from('k1'), value: Buffer.from('hello'),
    headers: [{ key: 'a', value: Buffer.from('1') }, { key: 'b', value: null }],
  };
  assert.equal(compileFormat('%k:%v %p/%o %t %T [%h] 100%%\\t!')(record), 'k1:hello 2/41 0 1970-01-01T00:00:00.000Z [a=1,b=] 100%\t!');
  assert.equal(compileFormat('%v')({ ...record, value: null }), '');
  assert.throws(() => compileFormat('%x'), (error: unknown) => error instanceof CliError && /unknown field "%x"/.test(error.message));
  assert.deepEqual(recordToJson({ ...record, value: Buffer.from([0xff, 0xfe]) }).value, { base64: '//4=' });
});

test('host:port parsing', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:9092'), { host: '127.0.0.1', port: 9092 });
  assert.deepEqual(parseHostPort('[::1]:19092'), { host: '::1', port: 19092 });
  assert.throws(() => parseHostPort('localhost'), /--bootstrap must be host:port/);
  assert.throws(() => parseHostPort('h:70000'), /--bootstrap must be host:port/);
});

test('Kafka errors become sentences that name the error', () => {
  assert.equal(describeKafkaError('topic orders', 36), 'topic orders already exists (TOPIC_ALREADY_EXISTS)');
  assert.match(describeKafkaError('group g', 68), /^group g still has members; stop its consumers first \(NON_EMPTY_GROUP\)$/);
  assert.match(describeKafkaError('topic t', 40, 'retention.ms must be a number'), /invalid configuration — retention\.ms must be a number \(INVALID_CONFIG\)/);
});
