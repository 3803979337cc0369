// /api/v1/topics/:name/partitions/:p/messages (browse decoded records) and
// /api/v1/topics/:name/messages (produce one test message through the same append path as Produce).
import { compressionNames, type CompressionCodec } from '../protocol/compression.ts';
import { iterateBatches } from '../protocol/record-batch.ts';
import { buildRecordBatch, decodeBatchRecords, type DecodedRecord } from '../protocol/records.ts';
import type { BrokerServices } from '../server/broker-services.ts';
import type { Partition } from '../server/partition.ts';
import { ApiError, badRequest, expectObject, notFound, optionalInt, queryInt, type ApiRoute } from './api-router.ts';
import { partitionForKey } from './key-partitioner.ts';
import { recordBytesIn } from './metrics.ts';
import { requireTopic } from './topics-api.ts';

export const maxBrowseLimit = 500;
const defaultBrowseLimit = 50;
/** Bytes read from the log per step while browsing, and steps per request. */
const browseReadBytes = 1024 * 1024;
const maxBrowseReads = 64;
/** Decompressed size cap for one batch shown in the browser (zip-bomb guard). */
const maxBrowseDecompressedBytes = 16 * 1024 * 1024;
const maxHeadersPerMessage = 100;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export interface EncodedBytes {
  text: string;
  encoding: 'text' | 'base64';
}

/** Text when the bytes are valid UTF-8, else base64; the encoding says which. */
export function encodeBytes(bytes: Buffer | null): EncodedBytes | null {
  if (bytes === null) return null;
  try {
    return { text: strictUtf8.decode(bytes), encoding: 'text' };
  } catch {
    return { text: bytes.toString('base64'), encoding: 'base64' };
  }
}

function recordJson(record: DecodedRecord, compression: number) {
  const key = encodeBytes(record.key);
  const value = encodeBytes(record.value);
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: key?.text ?? null,
    keyEncoding: key?.encoding ?? null,
    value: value?.text ?? null,
    valueEncoding: value?.encoding ?? null,
    headers: record.headers.map((header) => {
      const headerValue = encodeBytes(header.value);
      return { key: header.key, value: headerValue?.text ?? null, valueEncoding: headerValue?.encoding ?? null };
    }),
    compression: compressionNames[compression as CompressionCodec] ?? `codec ${compression}`,
  };
}

function localPartition(services: BrokerServices, topicName: string, rawPartition: string): Partition {
  const topic = requireTopic(services, topicName);
  if (!/^\d+$/.test(rawPartition)) throw badRequest(`partition must be a whole number, got "${rawPartition}"`);
  const index = Number(rawPartition);
  if (index >= topic.partitions.length) throw notFound(`topic ${topicName} has no partition ${index} (it has ${topic.partitions.length})`);
  const partition = services.replicas.get(topicName, index);
  if (!partition) throw new ApiError(421, `partition ${topicName}-${index} is not hosted on node ${services.nodeId}; ask its leader (node ${topic.partitions[index]!.leader})`);
  return partition;
}

async function browse(partition: Partition, fromOffset: number, limit: number) {
  const highWatermark = partition.highWatermark;
  const start = Math.max(fromOffset, partition.logStartOffset);
  const messages: ReturnType<typeof recordJson>[] = [];
  let position = start;
  for (let reads = 0; reads < maxBrowseReads && messages.length < limit && position < highWatermark; reads++) {
    const read = await partition.read(position, browseReadBytes, highWatermark);
    let next = position;
    for (const view of iterateBatches(read.records)) {
      next = Math.max(next, view.lastOffset + 1);
      if (view.isControl || view.lastOffset < position) continue;
      let records: DecodedRecord[];
      try {
        records = await decodeBatchRecords(view, { maxDecompressedBytes: maxBrowseDecompressedBytes });
      } catch (error) {
        throw new ApiError(422, `the batch at offset ${view.baseOffset} cannot be decoded: ${(error as Error).message}`);
      }
      for (const record of records) {
        if (record.offset < position || messages.length >= limit) continue;
        messages.push(recordJson(record, view.compression));
      }
      if (messages.length >= limit) {
        next = messages[messages.length - 1]!.offset + 1;
        break;
      }
    }
    if (next <= position) break; // nothing readable below the high watermark
    position = next;
  }
  return { logStartOffset: partition.logStartOffset, highWatermark, startOffset: start, nextOffset: position, messages };
}

type HeaderInput = { key: string; value: string | null };

function parseHeaders(value: unknown): HeaderInput[] {
  if (value === undefined || value === null) return [];
  let headers: HeaderInput[];
  if (Array.isArray(value)) {
    headers = value.map((entry, index) => {
      const header = expectObject(entry, `headers[${index}]`);
      if (typeof header['key'] !== 'string') throw badRequest(`headers[${index}].key must be a string`);
      if (header['value'] !== null && header['value'] !== undefined && typeof header['value'] !== 'string') throw badRequest(`headers[${index}].value must be a string or null`);
      return { key: header['key'], value: (header['value'] as string | null | undefined) ?? null };
    });
  } else {
    headers = Object.entries(expectObject(value, 'headers')).map(([key, headerValue]) => {
      if (headerValue !== null && typeof headerValue !== 'string') throw badRequest(`headers.${key} must be a string or null`);
      return { key, value: headerValue };
    });
  }
  if (headers.length > maxHeadersPerMessage) throw badRequest(`at most ${maxHeadersPerMessage} headers per message`);
  return headers;
}

export function messageRoutes(services: BrokerServices): ApiRoute[] {
  const roundRobin = new Map<string, number>();
  return [
    {
      method: 'GET', path: '/api/v1/topics/:name/partitions/:partition/messages', handler: async ({ params, url }) => {
        const partition = localPartition(services, params['name']!, params['partition']!);
        const limit = queryInt(url, 'limit', defaultBrowseLimit, 1, maxBrowseLimit)!;
        let offset = queryInt(url, 'offset', undefined, 0, Number.MAX_SAFE_INTEGER);
        const timestamp = queryInt(url, 'timestamp', undefined, 0, Number.MAX_SAFE_INTEGER);
        if (offset !== undefined && timestamp !== undefined) throw badRequest('give either offset or timestamp, not both');
        if (timestamp !== undefined) {
          const found = await partition.log.offsetForTimestamp(timestamp);
          offset = found === null ? partition.highWatermark : found.offset;
        }
        return [200, { topic: partition.topic, partition: partition.partition, ...(await browse(partition, offset ?? partition.logStartOffset, limit)) }];
      },
    },
    {
      method: 'POST', path: '/api/v1/topics/:name/messages', handler: async ({ params, body }) => {
        const topicName = params['name']!;
        const topic = requireTopic(services, topicName);
        const request = expectObject(await body(), 'the request body');
        for (const field of Object.keys(request)) {
          if (!['key', 'value', 'headers', 'partition', 'encoding'].includes(field)) throw badRequest(`unknown field "${field}" (allowed: key, value, headers, partition, encoding)`);
        }
        const encoding = request['encoding'] ?? 'text';
        if (encoding !== 'text' && encoding !== 'base64') throw badRequest('"encoding" must be "text" or "base64" (how key and value are given)');
        const bytesOf = (field: 'key' | 'value'): Buffer | null => {
          const raw = request[field];
          if (raw === undefined || raw === null) return null;
          if (typeof raw !== 'string') throw badRequest(`"${field}" must be a string or null`);
          if (encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) throw badRequest(`"${field}" is not valid base64`);
          return Buffer.from(raw, encoding === 'base64' ? 'base64' : 'utf8');
        };
        const key = bytesOf('key');
        const value = bytesOf('value');
        const headers = parseHeaders(request['headers']);
        const count = topic.partitions.length;
        let index = optionalInt(request, 'partition', 0, Number.MAX_SAFE_INTEGER);
        if (index !== undefined && index >= count) throw badRequest(`topic ${topicName} has partitions 0 to ${count - 1}; partition ${index} does not exist`);
        if (index === undefined) {
          if (key !== null) index = partitionForKey(key, count);
          else {
            const next = roundRobin.get(topicName) ?? 0;
            roundRobin.set(topicName, (next + 1) % count);
            index = next % count;
          }
        }
        const partition = services.replicas.get(topicName, index);
        const leader = topic.partitions[index]!.leader;
        if (!partition || leader !== services.nodeId) throw new ApiError(421, `node ${services.nodeId} does not lead ${topicName}-${index}; its leader is node ${leader}`);
        const diskRefusal = services.diskGuard.refusal();
        if (diskRefusal) throw new ApiError(507, diskRefusal);
        const batch = await buildRecordBatch({ records: [{ key, value, headers }] });
        if (batch.length > partition.maxMessageBytes) throw new ApiError(413, `message of ${batch.length} bytes is larger than max.message.bytes ${partition.maxMessageBytes}`);
        const appended = await partition.append(batch);
        recordBytesIn(topicName, batch.length, 1);
        return [201, { topic: topicName, partition: index, offset: appended.baseOffset }];
      },
    },
  ];
}
