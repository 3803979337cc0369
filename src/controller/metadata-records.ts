// The records of the cluster metadata log (`__cluster_metadata-0`): one Raft entry holds one or more
// of them, applied together. Encoded as versioned JSON; decoding checks every field, because the
// bytes come from disk and from other nodes, and a record that replays wrongly would corrupt the
// image of every node that reads it.

export type MetadataRecord =
  | { type: 'cluster'; clusterId: string }
  | { type: 'register-broker'; nodeId: number; incarnationId: string; brokerEpoch: number; host: string; port: number; rack: string | null; internalHost: string; internalPort: number }
  | { type: 'fence-broker'; nodeId: number; brokerEpoch: number }
  | { type: 'unfence-broker'; nodeId: number; brokerEpoch: number }
  /** The broker's storage is full (its disk guard refuses appends) or has room again; a new registration resets it to not full. */
  | { type: 'broker-storage'; nodeId: number; brokerEpoch: number; full: boolean }
  | { type: 'topic'; name: string; topicId: string; configs: Record<string, string>; internal: boolean }
  | { type: 'remove-topic'; topicId: string }
  | { type: 'partition'; topicId: string; partition: number; replicas: number[]; isr: number[]; leader: number; leaderEpoch: number; partitionEpoch: number }
  | { type: 'topic-config'; topicId: string; configs: Record<string, string> }
  | { type: 'producer-id-block'; firstId: number; size: number; nodeId: number };

export type PartitionRecord = Extract<MetadataRecord, { type: 'partition' }>;

export const metadataRecordsVersion = 1;

/** Limits on what one log entry may hold; the Raft store refuses entries above 8 MiB anyway. */
export const metadataRecordLimits = {
  encodedBytesMax: 8 * 1024 * 1024,
  recordsPerEntryMax: 200_000,
  stringLengthMax: 1024,
  configEntriesMax: 1000,
  configValueLengthMax: 64 * 1024,
  replicasMax: 1000,
  partitionsMax: 1_000_000,
  producerIdBlockSizeMax: 1_000_000,
} as const;

const int32Max = 2 ** 31 - 1;
const topicIdPattern = /^[0-9a-f]{32}$/;

export class MalformedMetadataRecordError extends Error {
  override name = 'MalformedMetadataRecordError';
}

export function encodeRecords(records: MetadataRecord[]): Uint8Array {
  if (records.length > metadataRecordLimits.recordsPerEntryMax) {
    throw new MalformedMetadataRecordError(`${records.length} records exceed the ${metadataRecordLimits.recordsPerEntryMax} allowed in one entry`);
  }
  // Checked before writing too: a record that could not be decoded must never reach the log.
  records.forEach((record, index) => validateRecord(record, index));
  const bytes = Buffer.from(JSON.stringify({ v: metadataRecordsVersion, records }), 'utf8');
  if (bytes.length > metadataRecordLimits.encodedBytesMax) {
    throw new MalformedMetadataRecordError(`encoded records take ${bytes.length} bytes, more than ${metadataRecordLimits.encodedBytesMax}`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function decodeRecords(data: Uint8Array): MetadataRecord[] {
  if (data.length > metadataRecordLimits.encodedBytesMax) {
    throw new MalformedMetadataRecordError(`entry of ${data.length} bytes exceeds ${metadataRecordLimits.encodedBytesMax}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (error) {
    throw new MalformedMetadataRecordError(`entry is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new MalformedMetadataRecordError('entry is not an object');
  if (parsed['v'] !== metadataRecordsVersion) throw new MalformedMetadataRecordError(`unsupported metadata record version ${JSON.stringify(parsed['v'])}`);
  const records = parsed['records'];
  if (!Array.isArray(records)) throw new MalformedMetadataRecordError('entry has no records array');
  if (records.length > metadataRecordLimits.recordsPerEntryMax) throw new MalformedMetadataRecordError(`${records.length} records exceed the limit`);
  return records.map((record: unknown, index) => {
    validateRecord(record, index);
    return record;
  });
}

/** Throws unless `value` is a well-formed record with exactly the fields of its type. */
export function validateRecord(value: unknown, index = 0): asserts value is MetadataRecord {
  const where = `record ${index}`;
  if (!isPlainObject(value)) throw new MalformedMetadataRecordError(`${where} is not an object`);
  const fields = recordFields[value['type'] as MetadataRecord['type']];
  if (fields === undefined) throw new MalformedMetadataRecordError(`${where} has unknown type ${JSON.stringify(value['type'])}`);
  const keys = Object.keys(value);
  if (keys.length !== Object.keys(fields).length + 1) {
    throw new MalformedMetadataRecordError(`${where} (${String(value['type'])}) has fields ${keys.join(',')}; expected type,${Object.keys(fields).join(',')}`);
  }
  for (const [field, check] of Object.entries(fields)) {
    if (!Object.hasOwn(value, field)) throw new MalformedMetadataRecordError(`${where} (${String(value['type'])}) lacks ${field}`);
    const problem = check(value[field]);
    if (problem !== null) throw new MalformedMetadataRecordError(`${where} (${String(value['type'])}) field ${field}: ${problem}`);
  }
  if (value['type'] === 'partition') {
    const replicas = value['replicas'] as number[];
    const isr = value['isr'] as number[];
    const leader = value['leader'] as number;
    if (replicas.length === 0) throw new MalformedMetadataRecordError(`${where} (partition) has no replicas`);
    if (new Set(replicas).size !== replicas.length || new Set(isr).size !== isr.length) throw new MalformedMetadataRecordError(`${where} (partition) repeats a broker`);
    // An empty ISR only with no leader: the last in-sync replica reported lost data (replica-data-loss.ts).
    if ((isr.length === 0 && leader !== -1) || isr.some((id) => !replicas.includes(id))) throw new MalformedMetadataRecordError(`${where} (partition) ISR must be a subset of the replicas, non-empty while there is a leader`);
    if (leader !== -1 && !isr.includes(leader)) throw new MalformedMetadataRecordError(`${where} (partition) leader ${leader} is not in the ISR`);
  }
}

type FieldCheck = (value: unknown) => string | null;

const nodeId: FieldCheck = (v) => integerIn(v, 0, int32Max);
const epoch: FieldCheck = (v) => integerIn(v, 0, Number.MAX_SAFE_INTEGER);
const int32Epoch: FieldCheck = (v) => integerIn(v, 0, int32Max);
const port: FieldCheck = (v) => integerIn(v, 0, 65535);
const text: FieldCheck = (v) => (typeof v !== 'string' ? 'not a string' : v.length > metadataRecordLimits.stringLengthMax ? 'too long' : null);
const nonEmptyText: FieldCheck = (v) => text(v) ?? ((v as string).length === 0 ? 'empty' : null);
const nullableText: FieldCheck = (v) => (v === null ? null : text(v));
const topicId: FieldCheck = (v) => (typeof v === 'string' && topicIdPattern.test(v) ? null : 'not 32 lowercase hex digits');
const bool: FieldCheck = (v) => (typeof v === 'boolean' ? null : 'not a boolean');
const brokerList: FieldCheck = (v) => {
  if (!Array.isArray(v)) return 'not an array';
  if (v.length > metadataRecordLimits.replicasMax) return 'too many brokers';
  return v.every((id) => integerIn(id, 0, int32Max) === null) ? null : 'holds something other than a broker id';
};
const configs: FieldCheck = (v) => {
  if (!isPlainObject(v)) return 'not an object';
  const entries = Object.entries(v);
  if (entries.length > metadataRecordLimits.configEntriesMax) return 'too many entries';
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > metadataRecordLimits.stringLengthMax) return `bad key ${JSON.stringify(key.slice(0, 50))}`;
    if (typeof value !== 'string' || value.length > metadataRecordLimits.configValueLengthMax) return `bad value for ${key}`;
  }
  return null;
};

const recordFields: Record<MetadataRecord['type'], Record<string, FieldCheck>> = {
  'cluster': { clusterId: nonEmptyText },
  'register-broker': {
    nodeId, incarnationId: nonEmptyText, brokerEpoch: epoch, host: nonEmptyText, port, rack: nullableText, internalHost: text, internalPort: port,
  },
  'fence-broker': { nodeId, brokerEpoch: epoch },
  'unfence-broker': { nodeId, brokerEpoch: epoch },
  'broker-storage': { nodeId, brokerEpoch: epoch, full: bool },
  'topic': { name: nonEmptyText, topicId, configs, internal: bool },
  'remove-topic': { topicId },
  'partition': {
    topicId,
    partition: (v) => integerIn(v, 0, metadataRecordLimits.partitionsMax - 1),
    replicas: brokerList,
    isr: brokerList,
    leader: (v) => integerIn(v, -1, int32Max),
    leaderEpoch: int32Epoch,
    partitionEpoch: int32Epoch,
  },
  'topic-config': { topicId, configs },
  'producer-id-block': {
    firstId: (v) => integerIn(v, 0, Number.MAX_SAFE_INTEGER - metadataRecordLimits.producerIdBlockSizeMax),
    size: (v) => integerIn(v, 1, metadataRecordLimits.producerIdBlockSizeMax),
    nodeId,
  },
};

function integerIn(value: unknown, min: number, max: number): string | null {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return 'not an integer';
  return value < min || value > max ? `${value} outside ${min}..${max}` : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
