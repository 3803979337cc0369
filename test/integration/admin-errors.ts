// Helpers for the admin integration tests: digging Kafka error names out of the nested errors
// kafkajs and @platformatic/kafka throw, and listing a data dir's partition directories.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';

const maxDepth = 6;

/**
 * Every Kafka error name (UNKNOWN_TOPIC_OR_PARTITION ...) found in an error thrown by kafkajs
 * (`type`, `errors`, `cause`, `originalError`, `partitions[].error`) or platformatic (`apiId`,
 * `errors`, `cause`), with the server's error messages.
 */
export function kafkaErrors(error: unknown, depth = 0): { names: string[]; messages: string[] } {
  const found = { names: [] as string[], messages: [] as string[] };
  if (depth > maxDepth || typeof error !== 'object' || error === null) return found;
  const e = error as Record<string, unknown>;
  if (typeof e['type'] === 'string') found.names.push(e['type']);
  if (typeof e['apiId'] === 'string') found.names.push(e['apiId']);
  if (typeof e['serverErrorMessage'] === 'string') found.messages.push(e['serverErrorMessage']);
  if (typeof e['message'] === 'string') found.messages.push(e['message']);
  const nested: unknown[] = [];
  if (Array.isArray(e['errors'])) nested.push(...(e['errors'] as unknown[]));
  if (Array.isArray(e['partitions'])) nested.push(...(e['partitions'] as Array<{ error?: unknown }>).map((p) => p.error));
  nested.push(e['cause'], e['originalError']);
  for (const inner of nested) {
    const deeper = kafkaErrors(inner, depth + 1);
    found.names.push(...deeper.names);
    found.messages.push(...deeper.messages);
  }
  return found;
}

/** Runs `action`, expects it to fail, and checks that the failure carries Kafka error `name`. */
export async function expectKafkaError(action: () => Promise<unknown>, name: string, what: string): Promise<string[]> {
  let thrown: unknown = null;
  try {
    await action();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== null, `${what}: expected ${name}, but the call succeeded`);
  const { names, messages } = kafkaErrors(thrown);
  assert.ok(names.includes(name), `${what}: expected ${name}, got ${names.join(', ') || String(thrown)}`);
  return messages;
}

/** The `<topic>-<partition>` directories of `topic` in a node's data dir. */
export async function partitionDirs(dataDir: string, topic: string): Promise<string[]> {
  const pattern = new RegExp(`^${topic.replace(/[.]/g, '\\.')}-\\d+$`);
  return (await readdir(dataDir)).filter((name) => pattern.test(name)).sort();
}
