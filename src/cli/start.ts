// `tide start`: runs one node until SIGTERM/SIGINT, then shuts down cleanly (exit 0).
import { BrokerConfig } from '../config/broker-config.ts';
import { ConfigError } from '../config/config-error.ts';
import { definitionFor } from '../config/definitions.ts';
import { TideNode } from '../server/tide-node.ts';
import { DataDirDamagedError, DataDirLockedError, DataDirMismatchError } from '../server/data-dir.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { CliError } from './cli-error.ts';

const flagToKey: Record<string, string> = {
  'data-dir': 'data.dir',
  listen: 'listen',
  http: 'http.listen',
  advertise: 'advertise',
  'node-id': 'node.id',
  controllers: 'controller.quorum.voters',
  'controller-listen': 'controller.listen',
  rack: 'broker.rack',
};

const help = `usage: tide start [options]

Starts a Tide node: Kafka protocol on --listen, dashboard/REST/metrics on --http.

options:
  --data-dir DIR         where data lives (default ./tide-data)
  --listen HOST:PORT     Kafka listener (default 127.0.0.1:9092)
  --http HOST:PORT       HTTP listener (default 127.0.0.1:8080)
  --advertise HOST:PORT  address given to clients (default: the listen address)
  --node-id N            this node's id (default 1)
  --controllers LIST     join a cluster: its controller quorum as id@host:port,... (a node
                         whose id is listed is a voter, any other an observer)
  --controller-listen HOST:PORT
                         internal listener for Raft and controller requests (default: this
                         node's address in --controllers)
  --rack NAME            rack or zone of this node, for replica placement
  --config FILE          a Kafka-style .properties file
  --KEY VALUE            any configuration key, e.g. --log.segment.bytes 104857600

Settings apply in this order: defaults, --config file, TIDE_* environment variables
(TIDE_LOG_SEGMENT_BYTES sets log.segment.bytes), then options. See docs/configuration.md.`;

export async function run(args: string[]): Promise<number> {
  const overrides: Record<string, string> = {};
  let configFile: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(help + '\n');
      return 0;
    }
    if (!arg.startsWith('--')) throw new CliError(`unexpected argument "${arg}" (see tide start --help)`);
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const value = equals === -1 ? args[++index] : arg.slice(equals + 1);
    if (value === undefined) throw new CliError(`option --${name} needs a value`);
    if (name === 'config') configFile = value;
    else if (flagToKey[name]) overrides[flagToKey[name]] = value;
    else if (definitionFor(name)) overrides[name] = value;
    else throw new CliError(`unknown option --${name} (see tide start --help)`);
  }

  let config: BrokerConfig;
  try {
    config = BrokerConfig.load({ file: configFile, env: process.env, overrides });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`configuration error: ${error.message}`);
    throw error;
  }

  const logger = createLogger(`node-${config.int('node.id')}`);
  // Signal handlers go in before anything starts, so a SIGTERM during start-up still ends in a clean stop.
  let stopRequested: string | null = null;
  let requestStop: (signal: string) => void = (signal) => {
    stopRequested = signal;
  };
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) {
      logger.warn(`second ${signal}: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    requestStop(signal);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  let node: TideNode;
  try {
    node = await TideNode.start(config, logger);
  } catch (error) {
    if (error instanceof DataDirLockedError || error instanceof DataDirMismatchError || error instanceof DataDirDamagedError) throw new CliError(error.message, 1);
    if (error instanceof ConfigError) throw new CliError(`configuration error: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(`address already in use: ${(error as Error).message}; choose another port with --listen / --http`, 1);
    }
    throw error;
  }

  return new Promise<number>((resolve) => {
    requestStop = (signal) => {
      logger.info(`received ${signal}; shutting down`);
      node.stop().then(
        () => {
          exitIfStillRunning(logger);
          resolve(0);
        },
        (error: unknown) => {
          logger.error('shutdown failed', { error: error instanceof Error ? error.stack : String(error) });
          resolve(1);
        },
      );
    };
    if (stopRequested !== null) requestStop(stopRequested);
    else {
      const internal = node.cluster?.internalAddress;
      const clusterPart = node.cluster ? ` role=${node.cluster.isVoter ? 'voter' : 'observer'}${internal ? ` controller=${internal.host}:${internal.port}` : ''}` : '';
      process.stdout.write(`Tide node ${node.nodeId} ready: kafka=${node.kafkaAddress} http=http://${node.httpAddress} data=${node.dataDir} pid=${process.pid}${clusterPart}\n`);
    }
  });
}

/**
 * Once the node has stopped nothing should keep the process alive; if something still does (a
 * connection or timer a component failed to close), the process exits anyway after a grace period,
 * naming what was left: a stopped broker that lingers holds its ports and delays restarts.
 */
function exitIfStillRunning(logger: Logger, graceMs = 3000): void {
  setTimeout(() => {
    logger.warn('still running after the node stopped; exiting', { graceMs, resources: process.getActiveResourcesInfo() });
    process.exit();
  }, graceMs).unref();
}
