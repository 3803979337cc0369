// Proves the fault proxy's link modes on loopback against an echo server: pass forwards both ways;
// delay (with jitter and a tiny buffer bound) keeps every byte in order; cut resets open
// connections and refuses new ones until healed; black-hole and one-way drop bytes silently and
// reset the damaged connections on healing; retarget moves a link to a new server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { FaultProxy } from '../../src/chaos/fault-proxy.ts';

interface Echo { server: Server; port: number; received: () => number }

async function echoServer(): Promise<Echo> {
  let received = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => { received += chunk.length; socket.write(chunk); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => { for (const s of sockets) s.destroy(); return close(cb); }) as typeof server.close;
  return { server, port: (server.address() as { port: number }).port, received: () => received };
}

interface Client { socket: Socket; data: () => Buffer; closed: Promise<string> }

async function client(port: number): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<string>((resolve) => {
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    socket.on('close', () => resolve('close'));
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return { socket, data: () => Buffer.concat(chunks), closed };
}

async function until(condition: () => boolean, what: string, rounds = 400): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function pattern(bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = (i * 31 + (i >> 8)) & 0xff;
  return buffer;
}

test('pass forwards both ways; delay with jitter and a small buffer keeps bytes in order', async () => {
  const echo = await echoServer();
  let seed = 1;
  const proxy = new FaultProxy({ maxBufferedBytes: 8 * 1024, random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647) });
  try {
    const port = await proxy.addLink('n1', echo.port);
    const c = await client(port);
    c.socket.write('hello');
    await until(() => c.data().toString() === 'hello', 'echo through pass');

    proxy.delay('n1', 20, 20);
    const payload = pattern(256 * 1024);
    for (let offset = 0; offset < payload.length; offset += 1000) c.socket.write(payload.subarray(offset, offset + 1000));
    await until(() => c.data().length === 5 + payload.length, 'delayed echo complete', 2000);
    assert.ok(c.data().subarray(5).equals(payload), 'every byte, in order');
    c.socket.destroy();
  } finally {
    await proxy.close();
    echo.server.close();
  }
});

test('cut resets open connections and refuses new ones; pass heals', async () => {
  const echo = await echoServer();
  const proxy = new FaultProxy();
  try {
    const port = await proxy.addLink('n1', echo.port);
    const before = await client(port);
    proxy.cut('n1');
    assert.equal(await before.closed, 'ECONNRESET');
    const during = connect({ port, host: '127.0.0.1' });
    const outcome = await new Promise<string>((resolve) => {
      during.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      during.on('close', () => resolve('close'));
    });
    assert.ok(['ECONNRESET', 'close'].includes(outcome), outcome);
    assert.ok(proxy.stats('n1').refusedConnections >= 1);
    proxy.pass('n1');
    const after = await client(port);
    after.socket.write('back');
    await until(() => after.data().toString() === 'back', 'echo after healing');
    after.socket.destroy();
  } finally {
    await proxy.close();
    echo.server.close();
  }
});

test('black-hole drops bytes silently and resets the damaged connection when healed', async () => {
  const echo = await echoServer();
  const proxy = new FaultProxy();
  try {
    const port = await proxy.addLink('n1', echo.port);
    const c = await client(port);
    proxy.blackHole('n1');
    c.socket.write('into the void');
    await until(() => proxy.stats('n1').droppedBytes === 13, 'bytes dropped');
    assert.equal(echo.received(), 0, 'nothing reached the server');
    assert.equal(c.data().length, 0);
    proxy.pass('n1');
    assert.equal(await c.closed, 'ECONNRESET', 'a stream with a hole is not resumed');
    const fresh = await client(port);
    fresh.socket.write('ok');
    await until(() => fresh.data().toString() === 'ok', 'fresh connection works');
    fresh.socket.destroy();
  } finally {
    await proxy.close();
    echo.server.close();
  }
});

test('one-way drops only the chosen direction', async () => {
  const echo = await echoServer();
  const proxy = new FaultProxy();
  try {
    const port = await proxy.addLink('n1', echo.port);
    const c = await client(port);
    proxy.oneWay('n1', 'to-client');
    c.socket.write('ping');
    await until(() => echo.received() === 4, 'server got the bytes');
    await until(() => proxy.stats('n1').droppedBytes === 4, 'the echo was dropped');
    assert.equal(c.data().length, 0);
    c.socket.destroy();
  } finally {
    await proxy.close();
    echo.server.close();
  }
});

test('retarget sends new connections to the new server', async () => {
  const first = await echoServer();
  const second = await echoServer();
  const proxy = new FaultProxy();
  try {
    const port = await proxy.addLink('n1', first.port);
    proxy.retarget('n1', second.port);
    const c = await client(port);
    c.socket.write('moved');
    await until(() => c.data().toString() === 'moved', 'echo from the new target');
    assert.equal(first.received(), 0);
    assert.equal(second.received(), 5);
    c.socket.destroy();
  } finally {
    await proxy.close();
    first.server.close();
    second.server.close();
  }
});
