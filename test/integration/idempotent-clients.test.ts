// Proves real clients' idempotent producers work end to end: kafkajs and @platformatic/kafka with
// `idempotent: true` produce thousands of messages over three partitions and every message is
// stored exactly once, in send order per partition; and when Produce answers are lost on the way
// back (a proxy cuts the connection instead of forwarding them), kafkajs' retries of the same
// batches are recognised as duplicates: still exactly once, in order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic, fetchCodec } from '../../src/protocol/messages/fetch.ts';
import { iterateBatches } from '../../src/protocol/record-batch.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readPartition } from '../helpers/read-all.ts';
import { makeTempDir, removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';

const partitions = 3;
const produceApiKey = 0;
/**
 * Forwards Kafka connections to the node; when told to, it swallows every Nth Produce answer and
 * cuts that connection, as a network failure after the append would. Loopback only.
 */
class ResponseDroppingProxy {
  target = 0;
  dropEveryNthProduceAnswer = 0;
  droppedAnswers = 0;
  #produceAnswers = 0;
  readonly #sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly port: number) {}

  static async listen(): Promise<ResponseDroppingProxy> {
    let proxy: ResponseDroppingProxy | null = null;
    const server = createServer((client) => proxy!.#pipe(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy port');
    proxy = new ResponseDroppingProxy(server, address.port);
    return proxy;
  }

  #pipe(client: Socket): void {
    const broker = connect({ host: '127.0.0.1', port: this.target });
    this.#sockets.add(client).add(broker);
    const apiKeyOfCorrelation = new Map<number, number>();
    const cut = () => {
      client.destroy();
      broker.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(broker);
    };
    client.on('error', cut).on('close', cut);
    broker.on('error', cut).on('close', cut);
    framesOf(client, (frame) => {
      if (frame.length >= 12) apiKeyOfCorrelation.set(frame.readInt32BE(8), frame.readInt16BE(4));
      broker.write(frame);
    });
    framesOf(broker, (frame) => {
      const correlationId = frame.readInt32BE(4);
      const apiKey = apiKeyOfCorrelation.get(correlationId);
      apiKeyOfCorrelation.delete(correlationId);
      if (apiKey === produceApiKey && this.dropEveryNthProduceAnswer > 0 && ++this.#produceAnswers % this.dropEveryNthProduceAnswer === 0) {
        this.droppedAnswers++;
        cut();
        return;
      }
      client.write(frame);
    });
  }

  close(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.server.close();
  }
}

/** Calls onFrame with each whole size-prefixed frame (size included) read from the socket. */
function framesOf(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const total = 4 + buffered.readInt32BE(0);
      if (buffered.length < total) break;
      onFrame(buffered.subarray(0, total));
      buffered = buffered.subarray(total);
    }
  });
}

let node: TideProcess;
let proxy: ResponseDroppingProxy;

before(async () => {
  proxy = await ResponseDroppingProxy.listen();
  // Clients learn the broker's address from Metadata: advertise the proxy, so every connection goes through it.
  node = await startTide({ dataDir: await makeTempDir(), args: ['--advertise', `127.0.0.1:${proxy.port}`] });
  proxy.target = node.kafkaPort;
  const kafka = new Kafka({ clientId: 'idem-admin', brokers: [`127.0.0.1:${node.kafkaPort}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: ['idem-kafkajs', 'idem-platformatic', 'idem-lost-answers'].map((topic) => ({ topic, numPartitions: partitions })) });
  await admin.disconnect();
});

after(async () => {
  proxy.close();
  await stopTide(node);
  await removeDir(node.dataDir);
});

/** Every sent value stored once, per partition in the order sent (values carry their send index). */
async function checkExactlyOnceInOrder(topic: string, sentCount: number): Promise<void> {
  const seen = new Set<string>();
  for (let partition = 0; partition < partitions; partition++) {
    const { records, highWatermark } = await readPartition(node.kafkaPort, topic, partition);
    assert.equal(records.length, highWatermark, `${topic}-${partition}: offsets dense from 0`);
    let previous = -1;
    for (const record of records) {
      const value = record.value!.toString();
      assert.ok(!seen.has(value), `${value} stored once`);
      seen.add(value);
      const index = Number(value.split('-').at(-1));
      assert.ok(index > previous, `${topic}-${partition}: ${value} after index ${previous}`);
      previous = index;
    }
  }
  assert.equal(seen.size, sentCount, 'every message stored');
  await checkIdempotentBatches(topic);
}

/** The client really produced idempotently: the stored batches carry a producer id and sequences. */
async function checkIdempotentBatches(topic: string): Promise<void> {
  const client = await RawClient.connect(node.kafkaPort);
  try {
    const response = await client.send(fetchCodec, 11, {
      ...defaultFetchRequest(), replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1024 * 1024, isolationLevel: 0, sessionEpoch: -1,
      topics: [{ ...defaultFetchRequestFetchTopic(), topic, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1 }] }],
    });
    const batches = [...iterateBatches(response.responses[0]!.partitions[0]!.records ?? Buffer.alloc(0))];
    assert.ok(batches.length > 0);
    for (const batch of batches) assert.ok(batch.producerId >= 0 && batch.baseSequence >= 0, `batch at ${batch.baseOffset} has producer ${batch.producerId}, sequence ${batch.baseSequence}`);
  } finally {
    client.close();
  }
}

function messagesOfRound(prefix: string, round: number, size: number): Array<{ key: string; value: string }> {
  return Array.from({ length: size }, (_, i) => {
    const n = round * size + i;
    return { key: `key-${n % 17}`, value: `${prefix}-${n}` };
  });
}

test('kafkajs idempotent producer: thousands of messages, each stored once, in order', async () => {
  const topic = 'idem-kafkajs';
  const kafka = new Kafka({ clientId: 'idem-kafkajs', brokers: [`127.0.0.1:${node.kafkaPort}`], logLevel: logLevel.NOTHING });
  // kafkajs takes a batch's sequence when it builds the request and advances it on the answer, so
  // an idempotent kafkajs producer must have one request in flight (its documented advice).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const rounds = 40;
  const size = 100;
  try {
    for (let round = 0; round < rounds; round++) await producer.send({ topic, acks: -1, messages: messagesOfRound('kafkajs', round, size) });
  } finally {
    await producer.disconnect();
  }
  await checkExactlyOnceInOrder(topic, rounds * size);
});

test('@platformatic/kafka idempotent producer: thousands of messages, each stored once, in order', async () => {
  const topic = 'idem-platformatic';
  const producer = new Producer({ clientId: 'idem-platformatic', bootstrapBrokers: [`127.0.0.1:${node.kafkaPort}`], serializers: stringSerializers, idempotent: true });
  const rounds = 40;
  const size = 100;
  try {
    for (let round = 0; round < rounds; round++) {
      await producer.send({ messages: messagesOfRound('platformatic', round, size).map((m) => ({ topic, ...m })) });
    }
  } finally {
    await producer.close();
  }
  await checkExactlyOnceInOrder(topic, rounds * size);
});

test('kafkajs retries after lost Produce answers are deduplicated', async () => {
  const topic = 'idem-lost-answers';
  const kafka = new Kafka({
    clientId: 'idem-lost', brokers: [`127.0.0.1:${proxy.port}`], logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 20, maxRetryTime: 200 },
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const rounds = 30;
  const size = 50;
  proxy.dropEveryNthProduceAnswer = 4;
  try {
    for (let round = 0; round < rounds; round++) await producer.send({ topic, acks: -1, messages: messagesOfRound('lost', round, size) });
  } finally {
    proxy.dropEveryNthProduceAnswer = 0;
    await producer.disconnect();
  }
  assert.ok(proxy.droppedAnswers >= 5, `answers were lost (${proxy.droppedAnswers}), so retries happened`);
  await checkExactlyOnceInOrder(topic, rounds * size);
});
