// What every client subcommand shares: option parsing (repeatable options, --help), the
// bootstrap address (--bootstrap, TIDE_BOOTSTRAP, default 127.0.0.1:9092), number parsing with
// clear errors, and output as a table or JSON.
import { CliError } from './cli-error.ts';
import { DEFAULT_BOOTSTRAP } from './client/tide-client.ts';

export interface OptionSpec {
  name: string; // without dashes
  value?: string; // placeholder when the option takes a value, e.g. 'N'
  repeatable?: boolean;
  help: string;
}

export const bootstrapOption: OptionSpec = { name: 'bootstrap', value: 'HOST:PORT', help: `a broker to start from (env TIDE_BOOTSTRAP, default ${DEFAULT_BOOTSTRAP})` };
export const jsonOption: OptionSpec = { name: 'json', help: 'print JSON instead of text' };

export class ParsedOptions {
  constructor(private readonly values: Map<string, string[]>, readonly positional: string[]) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): string | undefined {
    const all = this.values.get(name);
    return all?.[all.length - 1];
  }

  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  bootstrap(): string {
    return this.get('bootstrap') ?? process.env['TIDE_BOOTSTRAP'] ?? DEFAULT_BOOTSTRAP;
  }

  json(): boolean {
    return this.has('json');
  }

  /** An integer option within [min, max], or the fallback when absent. */
  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const text = this.get(name);
    if (text === undefined) return fallback;
    return parseInteger(text, `--${name}`, min, max);
  }
}

export function parseInteger(text: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError(`${what} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** `k=v` pairs from repeatable options into a record; a missing '=' is a CliError naming the option. */
export function parseKeyValues(pairs: string[], what: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new CliError(`${what} takes key=value, got "${pair}"`);
    result[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return result;
}

/**
 * Parses `--name value`, `--name=value` and flags. Returns null when --help/-h was given (the help
 * text has been printed). Unknown options are CliErrors that point at --help.
 */
export function parseOptions(args: string[], specs: OptionSpec[], help: string): ParsedOptions | null {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${help}\n\noptions:\n${optionHelp(specs)}\n`);
      return null;
    }
    if (arg === '--') {
      positional.push(...args.slice(index + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const spec = byName.get(name);
    if (!spec) throw new CliError(`unknown option --${name} (see --help)`);
    let value = 'true';
    if (spec.value !== undefined) {
      const given = equals === -1 ? args[++index] : arg.slice(equals + 1);
      if (given === undefined) throw new CliError(`option --${name} needs a value (${spec.value})`);
      value = given;
    }
    if (values.has(name) && !spec.repeatable && spec.value !== undefined) {
      throw new CliError(`option --${name} given twice`);
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return new ParsedOptions(values, positional);
}

export function optionHelp(specs: OptionSpec[]): string {
  return specs
    .map((spec) => {
      const left = `  --${spec.name}${spec.value ? ` ${spec.value}` : ''}`;
      return `${left.padEnd(30)} ${spec.help}${spec.repeatable ? ' (repeatable)' : ''}`;
    })
    .join('\n');
}

/** Exactly `count` positional arguments, named in the error. */
export function expectPositional(options: ParsedOptions, names: string[], usage: string): string[] {
  if (options.positional.length !== names.length) {
    const wanted = names.length === 0 ? 'no arguments' : names.join(' ');
    throw new CliError(`expected ${wanted}; usage: ${usage}`);
  }
  return options.positional;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A plain text table: a header row and left-aligned columns. */
export function printTable(header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  for (const row of cells) {
    process.stdout.write(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ') + '\n');
  }
}

/** Dispatches `tide <command> <sub> ...` to one of several actions. */
export async function dispatch(
  command: string,
  args: string[],
  actions: Record<string, { summary: string; run(args: string[]): Promise<number> }>,
): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h') {
    const lines = [`usage: tide ${command} <action> [options]`, '', 'actions:'];
    for (const [actionName, action] of Object.entries(actions)) lines.push(`  ${actionName.padEnd(16)} ${action.summary}`);
    lines.push('', `Run \`tide ${command} <action> --help\` for its options.`);
    process.stdout.write(lines.join('\n') + '\n');
    return name === undefined ? 2 : 0;
  }
  const action = actions[name];
  if (!action) throw new CliError(`unknown action "${command} ${name}"; one of: ${Object.keys(actions).join(', ')}`);
  return action.run(rest);
}
