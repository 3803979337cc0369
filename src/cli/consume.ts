// `tide consume TOPIC`: prints records, one formatted line each. Without --group it reads the
// chosen partitions directly; with --group it joins a classic consumer group, resumes from the
// committed offsets and commits after printing. Stops after --count, at the end with
// --exit-at-end, after --idle-timeout-ms without records, or on Ctrl-C (leaving the group).
import { once } from 'node:events';
import { CliError } from './cli-error.ts';
import type { AssignorName } from './client/assignors.ts';
import { Fetcher, type ConsumedRecord } from './client/fetcher.ts';
import { commitOffsets, fetchCommittedOffsets } from './client/group-coordinator-client.ts';
import { GroupMember } from './client/group-member.ts';
import { TideClient } from './client/tide-client.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, listOffsets } from './client/topic-admin.ts';
import { bootstrapOption, parseOptions, type OptionSpec, type ParsedOptions } from './command-kit.ts';
import { compileFormat, DEFAULT_FORMAT, recordToJson } from './record-format.ts';

const DEFAULT_MAX_WAIT_MS = 500;
const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
const REBALANCE_TIMEOUT_MS = 30_000;

const specs: OptionSpec[] = [
  { name: 'from-beginning', help: 'start at the earliest offset when there is no committed one (default: only new records)' },
  { name: 'partition', value: 'N', help: 'read only this partition (not with --group)' },
  { name: 'offset', value: 'N', help: 'start at this offset (needs --partition)' },
  { name: 'count', value: 'N', help: 'exit after N records' },
  { name: 'exit-at-end', help: 'exit once every partition is read up to its high watermark' },
  { name: 'idle-timeout-ms', value: 'MS', help: 'exit when no record arrives for this long' },
  { name: 'format', value: 'FORMAT', help: `output per record: %k key, %v value, %p partition, %o offset, %t timestamp, %T ISO time, %h headers (default ${DEFAULT_FORMAT})` },
  { name: 'group', value: 'GROUP', help: 'consume as a member of this consumer group, committing offsets' },
  { name: 'assignor', value: 'range|roundrobin', help: 'partition assignor offered first when leading the group (default range)' },
  { name: 'session-timeout-ms', value: 'MS', help: `group session timeout (default ${DEFAULT_SESSION_TIMEOUT_MS})` },
  bootstrapOption,
  { name: 'json', help: 'print each record as a JSON line (key/value as text, or {base64} when not UTF-8)' },
];

const usage = 'tide consume TOPIC [--from-beginning] [--partition N [--offset N]] [--count N] [--group G] [--format "%k:%v %p/%o"]';

interface ConsumeSettings {
  topic: string;
  fromBeginning: boolean;
  partition: number | null;
  startOffset: number | null;
  count: number | null;
  exitAtEnd: boolean;
  idleTimeoutMs: number | null;
  groupId: string | null;
  assignors: AssignorName[];
  sessionTimeoutMs: number;
  render: (record: ConsumedRecord) => string;
}

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args, specs, `usage: ${usage}`);
  if (!options) return 0;
  const settings = settingsFrom(options);
  const client = await TideClient.connect(options.bootstrap());
  let stopping = false;
  const onSignal = () => {
    stopping = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed pipe (tide consume ... | head) ends the run quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stopping = true;
  });
  const member = settings.groupId ? new GroupMember(client, {
    groupId: settings.groupId, topic: settings.topic, assignors: settings.assignors,
    sessionTimeoutMs: settings.sessionTimeoutMs, rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
  }) : null;
  try {
    const fetcher = new Fetcher(client, settings.topic, DEFAULT_MAX_WAIT_MS);
    await fetcher.refreshLeaders();
    await position(client, fetcher, settings, member);
    const consumed = await consumeLoop(client, fetcher, settings, member, () => stopping);
    process.stderr.write(`consumed ${consumed} records from ${settings.topic}\n`);
    if (settings.count !== null && consumed < settings.count && !stopping && settings.idleTimeoutMs !== null) {
      throw new CliError(`only ${consumed} of ${settings.count} records arrived within --idle-timeout-ms ${settings.idleTimeoutMs}`, 1);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await member?.leave();
    await client.close();
  }
}

function settingsFrom(options: ParsedOptions): ConsumeSettings {
  if (options.positional.length !== 1) throw new CliError(`expected TOPIC; usage: ${usage}`);
  const groupId = options.get('group') ?? null;
  if (groupId !== null && options.has('partition')) throw new CliError('--partition and --group do not go together: the group assigns partitions');
  if (options.has('offset') && !options.has('partition')) throw new CliError('--offset needs --partition');
  const assignor = options.get('assignor') ?? 'range';
  if (assignor !== 'range' && assignor !== 'roundrobin') throw new CliError(`--assignor must be range or roundrobin, got "${assignor}"`);
  const format = compileFormat(options.get('format') ?? DEFAULT_FORMAT);
  return {
    topic: options.positional[0]!,
    fromBeginning: options.has('from-beginning'),
    partition: options.has('partition') ? options.int('partition', 0) : null,
    startOffset: options.has('offset') ? options.int('offset', 0) : null,
    count: options.has('count') ? options.int('count', 0, 1) : null,
    exitAtEnd: options.has('exit-at-end'),
    idleTimeoutMs: options.has('idle-timeout-ms') ? options.int('idle-timeout-ms', 0, 1) : null,
    groupId,
    assignors: assignor === 'range' ? ['range', 'roundrobin'] : ['roundrobin', 'range'],
    sessionTimeoutMs: options.int('session-timeout-ms', DEFAULT_SESSION_TIMEOUT_MS, 1000, 3_600_000),
    render: options.json() ? (record) => JSON.stringify(recordToJson(record)) : format,
  };
}

/** Sets the fetcher's starting offsets: explicit, committed (group), or earliest/latest. */
async function position(client: TideClient, fetcher: Fetcher, settings: ConsumeSettings, member: GroupMember | null): Promise<void> {
  fetcher.positions.clear();
  const metadata = await client.topicMetadata(settings.topic);
  let partitions = metadata.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
  if (settings.partition !== null) {
    if (!partitions.includes(settings.partition)) {
      throw new CliError(`topic ${settings.topic} has no partition ${settings.partition} (it has ${partitions.length})`, 1);
    }
    partitions = [settings.partition];
  }
  if (member) partitions = await member.join();
  if (partitions.length === 0) return;
  const committed = new Map<number, number>();
  if (member) {
    const offsets = await fetchCommittedOffsets(client, member.options.groupId, [{ name: settings.topic, partitionIndexes: partitions }]);
    for (const entry of offsets) if (entry.offset >= 0) committed.set(entry.partition, entry.offset);
  }
  const missing = partitions.filter((p) => !committed.has(p));
  const fallback = missing.length > 0
    ? await listOffsets(client, settings.topic, missing, settings.fromBeginning ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP)
    : new Map<number, number>();
  for (const partition of partitions) {
    const start = settings.startOffset ?? committed.get(partition) ?? fallback.get(partition) ?? 0;
    fetcher.seek(partition, start);
  }
}

async function consumeLoop(
  client: TideClient,
  fetcher: Fetcher,
  settings: ConsumeSettings,
  member: GroupMember | null,
  isStopping: () => boolean,
): Promise<number> {
  let consumed = 0;
  let lastRecordAt = performance.now();
  const toCommit = new Map<number, number>();
  const commit = async () => {
    if (!member || toCommit.size === 0) return;
    await commitOffsets(client, member.options.groupId, { generationId: member.generationId, memberId: member.memberId }, settings.topic, toCommit);
    toCommit.clear();
  };
  // Bounded by --count, --exit-at-end, --idle-timeout-ms or a signal; otherwise it follows the topic.
  while (!isStopping()) {
    member?.checkHealth();
    if (member?.rejoinNeeded) {
      await commit().catch(() => undefined); // a commit during a rebalance may be refused; the records were printed
      await position(client, fetcher, settings, member);
    }
    if (fetcher.positions.size === 0) {
      await new Promise((resolve) => setTimeout(resolve, DEFAULT_MAX_WAIT_MS));
    } else {
      const round = await fetcher.fetchRound();
      if (round.outOfRange.length > 0) {
        const reset = await listOffsets(client, settings.topic, round.outOfRange, settings.fromBeginning ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP);
        for (const [partition, offset] of reset) fetcher.seek(partition, offset);
      }
      const records = round.records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      const take = settings.count === null ? records.length : Math.min(records.length, settings.count - consumed);
      if (take > 0) {
        let chunk = '';
        for (let index = 0; index < take; index++) {
          const record = records[index]!;
          chunk += settings.render(record) + '\n';
          toCommit.set(record.partition, record.offset + 1);
        }
        consumed += take;
        lastRecordAt = performance.now();
        if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
        await commit();
      }
      if (settings.count !== null && consumed >= settings.count) break;
      if (settings.exitAtEnd && round.atEnd && round.records.length === take) break;
    }
    if (settings.idleTimeoutMs !== null && performance.now() - lastRecordAt > settings.idleTimeoutMs) break;
  }
  await commit();
  return consumed;
}
