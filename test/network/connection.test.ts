// Proves the connection's reply path on a real 127.0.0.1 socket: responses leave in request
// order even when handlers finish in reverse order, responses completing together all arrive
// (they are sent in one batch once the turn's handlers are done), a null reply (acks=0) is
// skipped without holding back the ones behind it, and every request is answered exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Connection, type FrameHandler } from '../../src/network/connection.ts';
import { FrameDecoder } from '../../src/network/frame-decoder.ts';
import { silentLogger } from '../../src/util/log.ts';

function frame(id: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeInt32BE(4, 0);
  out.writeInt32BE(id, 4);
  return out;
}

test('responses leave in request order, null replies are skipped, each request answered once', async () => {
  const REQUESTS = 40;
  const pending: { id: number; resolve: (parts: Buffer[] | null) => void }[] = [];
  const handler: FrameHandler = {
    handle(payload) {
      const id = payload.readInt32BE(0);
      return new Promise((resolve) => pending.push({ id, resolve }));
    },
  };
  const server = createServer((socket: Socket) => {
    new Connection(1, socket, 'test', handler, { maxFrameBytes: 1024, maxInFlightRequests: 100, idleTimeoutMs: 60_000, maxQueuedResponseBytes: 1 << 20 }, silentLogger, () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const received: number[] = [];
  const decoder = new FrameDecoder(1024);
  client.on('data', (chunk: Buffer) => { for (const reply of decoder.push(chunk)) received.push(reply.readInt32BE(0)); });
  client.write(Buffer.concat(Array.from({ length: REQUESTS }, (_, id) => frame(id))));
  for (let turn = 0; turn < 500 && pending.length < REQUESTS; turn++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.equal(pending.length, REQUESTS);
  // Finish in reverse order, in two groups; every 7th request has no reply (acks=0).
  const reply = (id: number): Buffer[] | null => {
    if (id % 7 === 3) return null;
    const out = Buffer.alloc(4);
    out.writeInt32BE(id, 0);
    return [out, Buffer.alloc(0)];
  };
  const reversed = [...pending].reverse();
  for (const entry of reversed.slice(0, REQUESTS / 2)) entry.resolve(reply(entry.id));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(received, [], 'nothing leaves while the first request is unanswered');
  for (const entry of reversed.slice(REQUESTS / 2)) entry.resolve(reply(entry.id));
  const expected = Array.from({ length: REQUESTS }, (_, id) => id).filter((id) => id % 7 !== 3);
  for (let turn = 0; turn < 500 && received.length < expected.length; turn++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.deepEqual(received, expected);
  client.destroy();
  server.close();
});
