// `tide group list|describe|reset-offsets|delete`.
import { CliError } from './cli-error.ts';
import { deleteGroup, groupView, listGroups, resetOffsets, type ResetTarget } from './client/group-admin.ts';
import { withClient } from './client/tide-client.ts';
import {
  bootstrapOption, dispatch, expectPositional, jsonOption, parseInteger, parseOptions, printJson, printTable,
  type OptionSpec,
} from './command-kit.ts';

export function run(args: string[]): Promise<number> {
  return dispatch('group', args, {
    list: { summary: 'list consumer groups', run: list },
    describe: { summary: 'state, members, committed offsets and lag of a group', run: describe },
    'reset-offsets': { summary: 'move a group\'s committed offsets on a topic (group must be empty)', run: reset },
    delete: { summary: 'delete an empty group and its offsets', run: remove },
  });
}

async function list(args: string[]): Promise<number> {
  const options = parseOptions(args, [bootstrapOption, jsonOption], 'usage: tide group list [--json]');
  if (!options) return 0;
  expectPositional(options, [], 'tide group list');
  const groups = await withClient(options.bootstrap(), listGroups);
  if (options.json()) printJson(groups);
  else if (groups.length === 0) process.stdout.write('no consumer groups\n');
  else printTable(['GROUP', 'STATE', 'PROTOCOL-TYPE'], groups.map((g) => [g.groupId, g.state, g.protocolType || '-']));
  return 0;
}

async function describe(args: string[]): Promise<number> {
  const usage = 'tide group describe GROUP [--json]';
  const options = parseOptions(args, [bootstrapOption, jsonOption], `usage: ${usage}`);
  if (!options) return 0;
  const [groupId] = expectPositional(options, ['GROUP'], usage);
  const view = await withClient(options.bootstrap(), (client) => groupView(client, groupId!));
  if (view.state === 'Dead' && view.members.length === 0 && view.offsets.length === 0) {
    throw new CliError(`group ${groupId} does not exist (see tide group list)`, 1);
  }
  if (options.json()) {
    printJson(view);
    return 0;
  }
  process.stdout.write(`group ${view.groupId}  state ${view.state}  protocol ${view.protocol || '-'}  members ${view.members.length}\n`);
  if (view.members.length > 0) {
    process.stdout.write('\n');
    printTable(['MEMBER', 'CLIENT', 'HOST', 'ASSIGNMENT'], view.members.map((m) => [
      m.memberId, m.clientId, m.clientHost, m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' ') || '-',
    ]));
  }
  process.stdout.write('\n');
  if (view.offsets.length === 0) process.stdout.write('no committed offsets\n');
  else printTable(['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH-WATERMARK', 'LAG'], view.offsets.map((o) => [o.topic, o.partition, o.committedOffset, o.highWatermark, o.lag]));
  return 0;
}

async function reset(args: string[]): Promise<number> {
  const specs: OptionSpec[] = [
    { name: 'topic', value: 'TOPIC', help: 'the topic whose offsets move (every partition)' },
    { name: 'to-earliest', help: 'to the log start' },
    { name: 'to-latest', help: 'to the end (skip everything so far)' },
    { name: 'to-offset', value: 'N', help: 'to this offset (clamped to the log)' },
    { name: 'to-datetime', value: 'ISO', help: 'to the first record at or after this time, e.g. 2026-01-31T12:00:00Z' },
    bootstrapOption, jsonOption,
  ];
  const usage = 'tide group reset-offsets GROUP --topic T (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO)';
  const options = parseOptions(args, specs, `usage: ${usage}`);
  if (!options) return 0;
  const [groupId] = expectPositional(options, ['GROUP'], usage);
  const topic = options.get('topic');
  if (!topic) throw new CliError(`--topic is required; usage: ${usage}`);
  const chosen = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime'].filter((name) => options.has(name));
  if (chosen.length !== 1) throw new CliError(`give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime; usage: ${usage}`);
  let target: ResetTarget;
  if (options.has('to-earliest')) target = { kind: 'earliest' };
  else if (options.has('to-latest')) target = { kind: 'latest' };
  else if (options.has('to-offset')) target = { kind: 'offset', offset: parseInteger(options.get('to-offset')!, '--to-offset') };
  else {
    const timestampMs = Date.parse(options.get('to-datetime')!);
    if (Number.isNaN(timestampMs)) throw new CliError(`--to-datetime must be an ISO 8601 time such as 2026-01-31T12:00:00Z, got "${options.get('to-datetime')}"`);
    target = { kind: 'datetime', timestampMs };
  }
  const offsets = await withClient(options.bootstrap(), (client) => resetOffsets(client, groupId!, topic, target));
  const rows = [...offsets].map(([partition, offset]) => ({ topic, partition, offset }));
  if (options.json()) printJson({ groupId, offsets: rows });
  else {
    process.stdout.write(`reset offsets of group ${groupId} on ${topic}:\n`);
    printTable(['PARTITION', 'NEW-OFFSET'], rows.map((r) => [r.partition, r.offset]));
  }
  return 0;
}

async function remove(args: string[]): Promise<number> {
  const usage = 'tide group delete GROUP';
  const options = parseOptions(args, [bootstrapOption, jsonOption], `usage: ${usage}`);
  if (!options) return 0;
  const [groupId] = expectPositional(options, ['GROUP'], usage);
  await withClient(options.bootstrap(), (client) => deleteGroup(client, groupId!));
  if (options.json()) printJson({ groupId, deleted: true });
  else process.stdout.write(`deleted group ${groupId}\n`);
  return 0;
}
