// Proves consumer groups against a real `tide start` process with kafkajs: three consumers in one
// group share a 6-partition topic two partitions each; when one leaves, the other two take over
// its partitions; when one is SIGKILLed (no LeaveGroup), its partitions move after the session
// timeout. Every produced message is consumed at least once (duplicates are counted, not failed);
// the group's assignments are checked through DescribeGroups.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { spawnKafkajsConsumer, waitFor, type ChildConsumer } from './fixtures/group-test-helpers.ts';

const { AssignerProtocol, Kafka, logLevel } = kafkajs;

const topic = 'groups-kjs';
const groupId = 'groups-kjs-group';
const partitionCount = 6;
const sessionTimeoutMs = 6000;

let node: TideProcess;
let kafka: InstanceType<typeof Kafka>;
let admin: ReturnType<InstanceType<typeof Kafka>['admin']>;
let producer: ReturnType<InstanceType<typeof Kafka>['producer']>;

before(async () => {
  node = await startTide({ args: ['--group.initial.rebalance.delay.ms', '0', '--offsets.topic.num.partitions', '10'] });
  kafka = new Kafka({ clientId: 'groups-kjs', brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitionCount }] });
  producer = kafka.producer();
  await producer.connect();
});

after(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

/** Sends `count` messages spread evenly over every partition; returns their values. */
async function produceRound(round: string, count: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, index) => `${round}-${index}`);
  await producer.send({ topic, messages: values.map((value, index) => ({ value, partition: index % partitionCount })) });
  return values;
}

/** member id → sorted partitions, from DescribeGroups, once the group is Stable. */
async function stableAssignment(): Promise<Map<string, number[]> | null> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0]!;
  if (group.state !== 'Stable') return null;
  const byMember = new Map<string, number[]>();
  for (const member of group.members) {
    const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    byMember.set(member.memberId, [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b));
  }
  return byMember;
}

async function waitForAssignment(what: string, expect: (sizes: number[]) => boolean): Promise<Map<string, number[]>> {
  let last: Map<string, number[]> | null = null;
  await waitFor(what, async () => {
    last = await stableAssignment();
    if (!last) return false;
    const all = [...last.values()].flat().sort((a, b) => a - b);
    return expect([...last.values()].map((partitions) => partitions.length)) && all.join() === '0,1,2,3,4,5';
  }, 30_000, () => JSON.stringify(last ? [...last] : null));
  return last!;
}

test('three kafkajs consumers share six partitions, survive a leave and a SIGKILL, and lose nothing', async (t) => {
  const seen = new Map<string, number>();
  const record = (value: string | null | undefined) => {
    if (value) seen.set(value, (seen.get(value) ?? 0) + 1);
  };
  const consumerOptions = { groupId, sessionTimeout: sessionTimeoutMs, rebalanceTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 };
  const inProcess = [kafka.consumer(consumerOptions), kafka.consumer(consumerOptions)];
  let child: ChildConsumer | null = null;
  let childSeen = 0;
  const collectChild = () => {
    for (; child && childSeen < child.lines.length; childSeen++) {
      const line = child.lines[childSeen]!;
      if (line.event === 'message') record(line.value);
    }
  };
  const allSeen = (values: string[]) => {
    collectChild();
    return values.every((value) => seen.has(value));
  };
  try {
    for (const consumer of inProcess) {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => record(message.value?.toString()) });
    }
    child = spawnKafkajsConsumer(node.bootstrap, topic, groupId, sessionTimeoutMs);

    const first = await waitForAssignment('three members with two partitions each', (sizes) => sizes.length === 3 && sizes.every((size) => size === 2));
    assert.equal(first.size, 3);
    const round1 = await produceRound('r1', 600);
    await waitFor('round 1 consumed', () => allSeen(round1), 30_000, () => `${round1.filter((v) => !seen.has(v)).length} missing`);

    // A clean leave: LeaveGroup, and the two others split the six partitions.
    await inProcess[0]!.disconnect();
    await waitForAssignment('two members with three partitions each', (sizes) => sizes.length === 2 && sizes.every((size) => size === 3));
    const round2 = await produceRound('r2', 600);
    await waitFor('round 2 consumed', () => allSeen(round2), 30_000, () => `${round2.filter((v) => !seen.has(v)).length} missing`);

    // A crash: no LeaveGroup, the coordinator notices when the session times out.
    const round3 = await produceRound('r3', 600);
    child.child.kill('SIGKILL');
    await child.exited;
    const last = await waitForAssignment('the survivor owning all six partitions', (sizes) => sizes.length === 1 && sizes[0] === 6);
    assert.equal(last.size, 1);
    await waitFor('round 3 consumed', () => allSeen(round3), 30_000, () => `${round3.filter((v) => !seen.has(v)).length} missing`);

    const produced = [...round1, ...round2, ...round3];
    for (const value of produced) assert.ok(seen.has(value), `${value} consumed`);
    const duplicates = [...seen.values()].reduce((sum, count) => sum + count - 1, 0);
    assert.equal(seen.size, produced.length, 'nothing but what was produced was consumed');
    // Redelivery of what the killed member had not committed is expected (at-least-once).
    t.diagnostic(`duplicates across rebalances: ${duplicates} of ${produced.length} messages`);
  } finally {
    if (child && child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGKILL');
      await child.exited;
    }
    for (const consumer of inProcess) await consumer.disconnect().catch(() => undefined);
  }
});
