// `--format` for tide consume: %k key, %v value, %p partition, %o offset, %t timestamp (ms),
// %T timestamp (ISO 8601), %h headers as k=v,k=v, %% a percent sign; \n and \t escapes. Compiled
// once into a list of pieces so formatting a record is a loop over them.
import { CliError } from './cli-error.ts';
import type { ConsumedRecord } from './client/fetcher.ts';

type Piece = string | ((record: ConsumedRecord) => string);

const text = (bytes: Buffer | null): string => (bytes === null ? '' : bytes.toString('utf8'));

const fields: Record<string, (record: ConsumedRecord) => string> = {
  k: (record) => text(record.key),
  v: (record) => text(record.value),
  p: (record) => String(record.partition),
  o: (record) => String(record.offset),
  t: (record) => String(record.timestamp),
  T: (record) => new Date(record.timestamp).toISOString(),
  h: (record) => record.headers.map((header) => `${header.key}=${text(header.value)}`).join(','),
};

export const DEFAULT_FORMAT = '%v';

export function compileFormat(format: string): (record: ConsumedRecord) => string {
  const pieces: Piece[] = [];
  let literal = '';
  for (let index = 0; index < format.length; index++) {
    const char = format[index]!;
    const next = format[index + 1];
    if (char === '\\' && (next === 'n' || next === 't' || next === '\\')) {
      literal += next === 'n' ? '\n' : next === 't' ? '\t' : '\\';
      index++;
    } else if (char === '%') {
      if (next === '%') literal += '%';
      else {
        const field = next === undefined ? undefined : fields[next];
        if (!field) throw new CliError(`--format: unknown field "%${next ?? ''}"; use %k %v %p %o %t %T %h or %%`);
        if (literal) pieces.push(literal);
        literal = '';
        pieces.push(field);
      }
      index++;
    } else {
      literal += char;
    }
  }
  if (literal) pieces.push(literal);
  return (record) => {
    let line = '';
    for (const piece of pieces) line += typeof piece === 'string' ? piece : piece(record);
    return line;
  };
}

/** The record as one JSON object (for --json): text when the bytes are UTF-8, else base64. */
export function recordToJson(record: ConsumedRecord): Record<string, unknown> {
  return {
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: bytesToJson(record.key),
    value: bytesToJson(record.value),
    headers: Object.fromEntries(record.headers.map((header) => [header.key, bytesToJson(header.value)])),
  };
}

function bytesToJson(bytes: Buffer | null): string | { base64: string } | null {
  if (bytes === null) return null;
  const decoded = bytes.toString('utf8');
  return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : { base64: bytes.toString('base64') };
}
