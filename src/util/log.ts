// One-line structured logger. Every node log line is `time level component message {json}` so that
// tests and operators can grep it; levels below TIDE_LOG_LEVEL (default info) are dropped.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

function configuredLevel(): LogLevel {
  const wanted = process.env.TIDE_LOG_LEVEL as LogLevel | undefined;
  return wanted && wanted in levelRank ? wanted : 'info';
}

export function createLogger(component: string, sink: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  const minimum = levelRank[configuredLevel()];
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (levelRank[level] < minimum) return;
    const extra = fields && Object.keys(fields).length > 0 ? ' ' + safeJson(fields) : '';
    sink(`${new Date().toISOString()} ${level.toUpperCase()} ${component} ${message}${extra}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (name) => createLogger(`${component}/${name}`, sink),
  };
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_key, value) => (typeof value === 'bigint' ? value.toString() : value instanceof Error ? value.message : value));
  } catch {
    return '{"unserialisable":true}';
  }
}

/** A logger that drops everything, for unit tests. */
export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  child() { return silentLogger; },
};
