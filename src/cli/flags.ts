import { CliError } from './cli-error.ts';

export interface FlagSpec {
  name: string;            // without leading dashes
  takesValue: boolean;
  help: string;
}

/** Parses `--name value`, `--name=value` and boolean `--name`; anything unknown is a CliError naming it. */
export function parseFlags(args: string[], specs: FlagSpec[]): { flags: Map<string, string>; positional: string[] } {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const spec = byName.get(name);
    if (!spec) throw new CliError(`unknown option --${name} (see --help)`);
    if (!spec.takesValue) {
      flags.set(name, 'true');
      continue;
    }
    const value = equals === -1 ? args[++index] : arg.slice(equals + 1);
    if (value === undefined) throw new CliError(`option --${name} needs a value`);
    flags.set(name, value);
  }
  return { flags, positional };
}

export function flagHelp(specs: FlagSpec[]): string {
  return specs.map((spec) => `  --${spec.name}${spec.takesValue ? ' VALUE' : ''}`.padEnd(30) + spec.help).join('\n');
}
