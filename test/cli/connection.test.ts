// Proves the CLI's broker connection against a scripted fake broker on loopback: ApiVersions goes
// first and later requests use the highest version both sides support (Fetch capped at v12),
// answers split into 1-byte pieces are reassembled, an absurd frame size fails with a clear
// error, a silent broker hits the request timeout, and an API the broker does not serve is a
// CliError saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { BrokerConnection } from '../../src/cli/client/connection.ts';
import { CliError } from '../../src/cli/cli-error.ts';
import { decodeRequestPayload, encodeResponseFrame, frameToBuffer } from '../../src/protocol/frame.ts';
import { apiCodecs } from '../../src/protocol/messages/index.ts';
import { apiVersionsCodec, defaultApiVersionsResponse } from '../../src/protocol/messages/api-versions.ts';
import { defaultMetadataResponse, metadataCodec } from '../../src/protocol/messages/metadata.ts';
import { fetchCodec } from '../../src/protocol/messages/fetch.ts';
import { joinGroupCodec } from '../../src/protocol/messages/join-group.ts';

type Behaviour = 'answer-in-bytes' | 'huge-frame' | 'silent';

interface FakeBroker {
  server: Server;
  sockets: Set<Socket>;
  port: number;
  seen: Array<{ apiKey: number; apiVersion: number }>;
}

async function fakeBroker(behaviour: Behaviour): Promise<FakeBroker> {
  const seen: FakeBroker['seen'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      // Bounded: each pass removes one whole frame.
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const payload = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + payload.length);
        const request = decodeRequestPayload(payload, (key) => apiCodecs.get(key));
        seen.push({ apiKey: request.header.apiKey, apiVersion: request.header.apiVersion });
        const { apiKey, apiVersion, correlationId } = request.header;
        if (apiKey === apiVersionsCodec.apiKey) {
          const body = { ...defaultApiVersionsResponse(), apiKeys: [
            { apiKey: 18, minVersion: 0, maxVersion: 4 },
            { apiKey: 3, minVersion: 0, maxVersion: 12 },
            { apiKey: 1, minVersion: 4, maxVersion: 17 },
          ] };
          socket.write(frameToBuffer(encodeResponseFrame(apiVersionsCodec, apiVersion, correlationId, body)));
          continue;
        }
        if (behaviour === 'silent') continue;
        if (behaviour === 'huge-frame') {
          const bogus = Buffer.alloc(8);
          bogus.writeInt32BE(0x7fffffff, 0);
          socket.write(bogus);
          continue;
        }
        const answer = frameToBuffer(encodeResponseFrame(metadataCodec, apiVersion, correlationId, { ...defaultMetadataResponse(), clusterId: 'fake-cluster', controllerId: 7 }));
        for (const byte of answer) socket.write(Buffer.from([byte]));
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, sockets, port: (server.address() as { port: number }).port, seen };
}

async function closeBroker(broker: FakeBroker, connection?: BrokerConnection): Promise<void> {
  connection?.close();
  for (const socket of broker.sockets) socket.destroy();
  await new Promise<void>((resolve) => broker.server.close(() => resolve()));
}

const metadataRequest = { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

test('negotiates versions and reassembles an answer sent a byte at a time', async () => {
  const broker = await fakeBroker('answer-in-bytes');
  const connection = await BrokerConnection.open('127.0.0.1', broker.port, { connectTimeoutMs: 2000, requestTimeoutMs: 5000 });
  try {
    assert.deepEqual(broker.seen[0], { apiKey: 18, apiVersion: 3 });
    assert.equal(connection.versionFor(metadataCodec), 12);
    assert.equal(connection.versionFor(fetchCodec), 12, 'Fetch v13+ needs topic ids, which the CLI does not send');
    const { body, version } = await connection.send(metadataCodec, metadataRequest);
    assert.equal(version, 12);
    assert.equal(body.clusterId, 'fake-cluster');
    assert.equal(body.controllerId, 7);
    await assert.rejects(connection.send(joinGroupCodec, {} as never), (error: unknown) => error instanceof CliError && /does not serve JoinGroup/.test(error.message));
  } finally {
    await closeBroker(broker, connection);
  }
});

test('an absurd frame size fails the request with a clear error', async () => {
  const broker = await fakeBroker('huge-frame');
  const connection = await BrokerConnection.open('127.0.0.1', broker.port, { connectTimeoutMs: 2000, requestTimeoutMs: 5000 });
  try {
    await assert.rejects(connection.send(metadataCodec, metadataRequest), /sent a frame of 2147483647 bytes; is that a Kafka port\?/);
  } finally {
    await closeBroker(broker, connection);
  }
});

test('a broker that never answers hits the request timeout', async () => {
  const broker = await fakeBroker('silent');
  const connection = await BrokerConnection.open('127.0.0.1', broker.port, { connectTimeoutMs: 2000, requestTimeoutMs: 200 });
  try {
    await assert.rejects(connection.send(metadataCodec, metadataRequest), /Metadata to 127\.0\.0\.1:\d+ got no answer within 200 ms/);
  } finally {
    await closeBroker(broker, connection);
  }
});
