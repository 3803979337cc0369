// A real kafkajs consumer group for the admin tests, and a bounded wait for what it causes (joins
// and commits happen in the background, so tests poll the API until the expected state shows).
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { call } from './http-client.ts';

/** Upper bound on waiting for a group to join, consume or commit; it normally takes well under a second. */
export const groupWaitMs = 20_000;
const pollIntervalMs = 100;

/** Polls `check` until it returns a value other than undefined, or fails after timeoutMs saying what it waited for. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = groupWaitMs): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (let attempt = 0; attempt < Math.ceil(timeoutMs / pollIntervalMs) + 1; attempt++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export interface RunningGroup {
  consumer: Consumer;
  /** Values consumed so far, in arrival order. */
  received: string[];
  stop(): Promise<void>;
}

/**
 * Joins `groupId` with one kafkajs consumer reading `topic` from the beginning, and returns once it
 * has consumed `count` messages and the group's committed offsets (read over HTTP) add up to them.
 */
export async function consumeAndCommit(bootstrap: string, base: string, groupId: string, topic: string, count: number): Promise<RunningGroup> {
  const kafka = new Kafka({ clientId: `admin-test-${groupId}`, brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  const received: string[] = [];
  await consumer.connect();
  const stop = async () => {
    await consumer.disconnect();
  };
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { received.push(message.value?.toString() ?? ''); } });
    await waitFor(`group ${groupId} to consume and commit ${count} messages`, async () => {
      const { status, body } = await call(base, 'GET', `/api/v1/groups/${encodeURIComponent(groupId)}`);
      if (status !== 200 || received.length < count) return undefined;
      const committed = body.offsets.filter((o: any) => o.topic === topic).reduce((sum: number, o: any) => sum + (o.committedOffset ?? 0), 0);
      return committed >= count && body.state === 'Stable' ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { consumer, received, stop };
}
