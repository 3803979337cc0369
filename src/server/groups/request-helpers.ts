// What the group API handlers share: how a member's host is shown (Kafka shows "/<address>").
import type { RequestContext } from '../handlers/api-handler.ts';

export function clientHostOf(context: RequestContext): string {
  // remoteAddress is "address:port"; Kafka shows the address only.
  let address = context.connection.remoteAddress.replace(/:[^:]*$/, '');
  if (address.startsWith('::ffff:')) address = address.slice('::ffff:'.length);
  return `/${address}`;
}

/** Groups flat (topic, partition) entries by topic, keeping first-seen topic order. */
export function byTopic<T extends { topic: string }>(entries: readonly T[]): Map<string, T[]> {
  const grouped = new Map<string, T[]>();
  for (const entry of entries) {
    let list = grouped.get(entry.topic);
    if (!list) {
      list = [];
      grouped.set(entry.topic, list);
    }
    list.push(entry);
  }
  return grouped;
}
