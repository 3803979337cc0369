// Proves per-source link modes of the fault proxy, which the multi-node harness builds partitions
// from: clients bound to different loopback source addresses (127.0.1.x, as nodes with
// outbound.local.host are) share one link, and a mode set `from` one source cuts, black-holes,
// delays or one-way-drops only that source's connections while the others keep flowing; clearing
// the source (or healAll) puts it back on the link's default, resetting connections that lost bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { FaultProxy, normalizeSource } from '../../src/chaos/fault-proxy.ts';

interface Echo { server: Server; port: number; sources: string[]; close(): Promise<void> }

async function echoServer(): Promise<Echo> {
  const sockets = new Set<Socket>();
  const sources: string[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    sources.push(socket.remoteAddress ?? '');
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server, sources, port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => { for (const socket of sockets) socket.destroy(); server.close(() => resolve()); }),
  };
}

interface Client { socket: Socket; text: () => string; outcome: Promise<string> }

/** Connects from `localAddress`; resolves on connect, or with a client whose outcome says how it ended. */
async function client(port: number, localAddress: string): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const outcome = new Promise<string>((resolve) => {
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    socket.on('close', () => resolve('close'));
  });
  await Promise.race([new Promise<void>((resolve) => socket.once('connect', resolve)), outcome]);
  return { socket, text: () => Buffer.concat(chunks).toString(), outcome };
}

async function until(condition: () => boolean, what: string, rounds = 400): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An echo server behind link `node-b` of a fresh proxy; both are closed afterwards. */
async function withLink(body: (setup: { echo: Awaited<ReturnType<typeof echoServer>>; proxy: FaultProxy; port: number }) => Promise<void>): Promise<void> {
  const echo = await echoServer();
  const proxy = new FaultProxy();
  try {
    await body({ echo, proxy, port: await proxy.addLink('node-b', echo.port) });
  } finally {
    await proxy.close();
    await echo.close();
  }
}

test('sources are normalised', () => {
  assert.equal(normalizeSource('::ffff:127.0.1.2'), '127.0.1.2');
  assert.equal(normalizeSource('127.0.1.2'), '127.0.1.2');
  assert.equal(normalizeSource(undefined), '');
});

test('a cut from one source resets and refuses only that source; clearing it heals', () => withLink(async ({ echo, proxy, port }) => {
  const a = await client(port, '127.0.1.1');
  const c = await client(port, '127.0.1.3');
  a.socket.write('a1');
  c.socket.write('c1');
  await until(() => a.text() === 'a1' && c.text() === 'c1', 'both echo');

  proxy.cut('node-b', { from: '127.0.1.1' });
  assert.match(await a.outcome, /ECONNRESET|close/);
  c.socket.write('c2');
  await until(() => c.text() === 'c1c2', 'the other source still flows');
  const refused = await client(port, '127.0.1.1');
  assert.match(await refused.outcome, /ECONNRESET|close/, 'new connections from the cut source are reset');
  assert.equal(proxy.stats('node-b').refusedConnections, 1);
  assert.deepEqual(proxy.stats('node-b').sourceModes, { '127.0.1.1': { kind: 'cut' } });
  assert.deepEqual(proxy.stats('node-b').connectionsBySource, { '127.0.1.1': 2, '127.0.1.3': 1 });

  proxy.clearSource('node-b', '127.0.1.1');
  const again = await client(port, '127.0.1.1');
  again.socket.write('a2');
  await until(() => again.text() === 'a2', 'healed source echoes');
  assert.equal(echo.sources.length, 3, 'the refused connection never reached the server');
  for (const open of [c, again]) open.socket.destroy();
}));

test('a per-source mode overrides the default both ways; healAll clears every override', () => withLink(async ({ echo, proxy, port }) => {
  // Default cut, one source let through: a client-side partition with one bridge.
  proxy.cut('node-b');
  proxy.pass('node-b', { from: '127.0.1.2' });
  const bridge = await client(port, '127.0.1.2');
  bridge.socket.write('x');
  await until(() => bridge.text() === 'x', 'the passed source flows');
  const other = await client(port, '127.0.1.3');
  assert.match(await other.outcome, /ECONNRESET|close/, 'the default (cut) applies to the rest');

  proxy.healAll();
  assert.deepEqual(proxy.stats('node-b').sourceModes, {});
  assert.equal(proxy.stats('node-b').mode.kind, 'pass');
  const healed = await client(port, '127.0.1.3');
  healed.socket.write('y');
  await until(() => healed.text() === 'y', 'healed default flows');
  for (const open of [bridge, healed]) open.socket.destroy();
}));

test('black-hole and one-way from one source drop only its bytes; damaged connections reset on healing', () => withLink(async ({ echo, proxy, port }) => {
  const a = await client(port, '127.0.1.1');
  const c = await client(port, '127.0.1.3');

  proxy.blackHole('node-b', { from: '127.0.1.1' });
  a.socket.write('lost');
  c.socket.write('kept');
  await until(() => c.text() === 'kept', 'the other source flows');
  await sleep(100);
  assert.equal(a.text(), '', 'nothing from the black-holed source arrives');
  assert.ok(proxy.stats('node-b').droppedBytes >= 4);
  proxy.pass('node-b', { from: '127.0.1.1' });
  assert.match(await a.outcome, /ECONNRESET|close/, 'a connection that lost bytes is reset on healing');
  assert.equal(c.socket.destroyed, false, 'the untouched connection lives on');

  // One-way: what 127.0.1.1 sends reaches the server (it counts bytes), the answers are dropped.
  const b = await client(port, '127.0.1.1');
  proxy.oneWay('node-b', 'to-client', { from: '127.0.1.1' });
  const forwardedBefore = proxy.stats('node-b').forwardedBytes;
  b.socket.write('ping');
  c.socket.write('!');
  await until(() => c.text() === 'kept!', 'the other source gets answers');
  await until(() => proxy.stats('node-b').forwardedBytes >= forwardedBefore + 4 + 2, 'the one-way source\'s bytes forwarded');
  await sleep(100);
  assert.equal(b.text(), '', 'answers to the one-way source are dropped');
  proxy.clearSource('node-b', '127.0.1.1');
  assert.match(await b.outcome, /ECONNRESET|close/);
  c.socket.destroy();
}));

test('a delay from one source holds only its bytes, in order', () => withLink(async ({ echo, proxy, port }) => {
  const slow = await client(port, '127.0.1.1');
  const fast = await client(port, '127.0.1.3');
  proxy.delay('node-b', 300, 50, { from: '127.0.1.1' });
  for (let index = 0; index < 20; index++) slow.socket.write(`${index},`);
  fast.socket.write('now');
  await until(() => fast.text() === 'now', 'the undelayed source answers first');
  assert.equal(slow.text(), '', 'the delayed source is still held');
  const expected = Array.from({ length: 20 }, (_, index) => `${index},`).join('');
  await until(() => slow.text() === expected, 'the delayed bytes arrive in order');
  for (const open of [slow, fast]) open.socket.destroy();
}));
