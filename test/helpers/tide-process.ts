// Starts real `tide start` processes for integration tests, on loopback with ephemeral ports, and
// stops them by pid. Every node logs to a file in its data dir so a failing test can show it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TIDE_NODE_FLAGS } from '../../src/cli/node-flags.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..');
export const tideBin = join(repoRoot, 'bin', 'tide.js');

export interface TideProcess {
  child: ChildProcess;
  pid: number;
  dataDir: string;
  kafkaPort: number;
  httpPort: number;
  bootstrap: string;          // 127.0.0.1:port
  logPath: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  dataDir?: string;
  kafkaPort?: number;         // default 0 (ephemeral)
  httpPort?: number;
  args?: string[];            // extra flags, e.g. ['--log.segment.bytes', '4096']
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

export async function makeTempDir(prefix = 'tide-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startTide(options: StartOptions = {}): Promise<TideProcess> {
  const dataDir = options.dataDir ?? (await makeTempDir());
  const logPath = join(dataDir, '..', `${dataDir.split('/').pop()}.log`);
  const args = [
    ...TIDE_NODE_FLAGS,
    tideBin, 'start',
    '--data-dir', dataDir,
    '--listen', `127.0.0.1:${options.kafkaPort ?? 0}`,
    '--http', `127.0.0.1:${options.httpPort ?? 0}`,
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logPath, { flags: 'a' });
  child.stderr!.pipe(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const ready = await new Promise<{ kafkaPort: number; httpPort: number }>((resolveReady, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`tide did not become ready within ${options.startTimeoutMs ?? 20000} ms; log ${logPath}`)), options.startTimeoutMs ?? 20000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /kafka=[^:\s]+:(\d+) http=http:\/\/[^:\s]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveReady({ kafkaPort: Number(match[1]), httpPort: Number(match[2]) });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`tide exited before ready (code ${code}, signal ${signal}); stdout: ${output}; log ${logPath}`));
    });
  });
  return { child, pid: child.pid!, dataDir, logPath, exited, ...ready, bootstrap: `127.0.0.1:${ready.kafkaPort}` };
}

/** SIGTERM and wait; returns the exit code. */
export async function stopTide(node: TideProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return node.exited;
  node.child.kill(signal);
  const timer = setTimeout(() => node.child.kill('SIGKILL'), timeoutMs);
  const result = await node.exited;
  clearTimeout(timer);
  return result;
}

export async function killTide(node: TideProcess): Promise<void> {
  await stopTide(node, 'SIGKILL');
}

export async function readLog(node: TideProcess): Promise<string> {
  return readFile(node.logPath, 'utf8').catch(() => '');
}

/** Removes a node's data dir and the log file kept beside it (called once a test has passed with it). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}.log`, { force: true });
}
