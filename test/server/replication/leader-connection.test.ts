// The follower's connection reassembles answers however TCP cuts them: a big Fetch answer in
// many small pieces, two answers in one piece, a size prefix split across pieces. Each request
// gets its own answer with its bytes intact, and a frame over the size cap closes the link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { defaultFetchRequest, defaultFetchResponsePartitionData, fetchCodec, type FetchResponse } from '../../../src/protocol/messages/fetch.ts';
import { encodeResponseFrame, frameToBuffer } from '../../../src/protocol/frame.ts';
import { LeaderConnection } from '../../../src/server/replication/leader-connection.ts';

const version = 12;

function answer(records: Buffer): FetchResponse {
  return {
    throttleTimeMs: 0, errorCode: 0, sessionId: 0, nodeEndpoints: [],
    responses: [{ topic: 't', topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ ...defaultFetchResponsePartitionData(), partitionIndex: 0, records }] }],
  };
}

/** A server that answers the n-th request (by correlation id 1, 2, ...) with `frames[n]`, written by `deliver`. */
async function serve(deliver: (socket: Socket, bytes: Buffer) => void, frames: (correlationId: number) => Buffer, expected: number): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let received = Buffer.alloc(0);
    let answered = 0;
    const out: Buffer[] = [];
    // The client hangs up on a frame it refuses: a reset here is expected.
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      // Bounded by the bytes received: each round consumes one request frame.
      while (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        received = received.subarray(4 + received.readInt32BE(0));
        answered++;
        out.push(frames(answered));
      }
      if (answered === expected) deliver(socket, Buffer.concat(out.splice(0)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

async function writeInPieces(socket: Socket, bytes: Buffer, pieceBytes: number): Promise<void> {
  // Bounded by bytes.length / pieceBytes.
  for (let at = 0; at < bytes.length; at += pieceBytes) {
    socket.write(bytes.subarray(at, at + pieceBytes));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('answers split into small pieces, and several in one piece, reach their requests intact', async () => {
  const records = [randomBytes(300_000), randomBytes(70_000), randomBytes(3)];
  const frame = (correlationId: number) => frameToBuffer(encodeResponseFrame(fetchCodec, version, correlationId, answer(records[correlationId - 1]!)));
  // Odd piece size: size prefixes and frame ends fall inside pieces.
  const { server, port } = await serve((socket, bytes) => void writeInPieces(socket, bytes, 4093), frame, 3);
  const connection = await LeaderConnection.open('127.0.0.1', port, 'test-replica', 5000, 1024 * 1024);
  try {
    const responses = await Promise.all(records.map(() => connection.send(fetchCodec, version, defaultFetchRequest(), 5000)));
    responses.forEach((response, index) => assert.deepEqual(response.responses[0]!.partitions[0]!.records, records[index]));
  } finally {
    connection.close();
    server.close();
  }
});

test('a frame larger than the cap closes the connection and fails the request', async () => {
  const frame = () => frameToBuffer(encodeResponseFrame(fetchCodec, version, 1, answer(randomBytes(64 * 1024))));
  const { server, port } = await serve((socket, bytes) => socket.write(bytes), frame, 1);
  const connection = await LeaderConnection.open('127.0.0.1', port, 'test-replica', 5000, 16 * 1024);
  try {
    await assert.rejects(connection.send(fetchCodec, version, defaultFetchRequest(), 5000), /frame of \d+ bytes/);
    assert.equal(connection.isOpen, false);
  } finally {
    connection.close();
    server.close();
  }
});
