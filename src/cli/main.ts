// `tide` command dispatcher: one file per subcommand, loaded on demand so `tide --help` stays fast.
import { CliError } from './cli-error.ts';

const commands: Record<string, { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> }> = {
  start: { summary: 'start a node (broker + controller)', load: () => import('./start.ts') },
  dev: { summary: 'start a local N-node cluster (child processes on loopback)', load: () => import('./dev.ts') },
  topic: { summary: 'create, list, describe, alter and delete topics', load: () => import('./topic.ts') },
  produce: { summary: 'send lines from stdin to a topic', load: () => import('./produce.ts') },
  consume: { summary: 'print records of a topic', load: () => import('./consume.ts') },
  group: { summary: 'list, describe, reset offsets of and delete consumer groups', load: () => import('./group.ts') },
  cluster: { summary: 'cluster info and health', load: () => import('./cluster.ts') },
};

function usage(): string {
  const lines = ['usage: tide <command> [options]', '', 'commands:'];
  for (const [name, command] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  lines.push('', 'Run `tide <command> --help` for the options of a command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 1 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`tide: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`tide: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`tide: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
