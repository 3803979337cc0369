// The two classic client-side assignors, as Kafka's clients implement them, so a `tide consume
// --group` member can lead a group that also holds Kafka clients.
import type { TopicPartitions } from '../../coordinator/consumer-protocol.ts';

export type AssignorName = 'range' | 'roundrobin';

export interface MemberSubscription {
  memberId: string;
  topics: string[];
}

export type Assignment = Map<string, TopicPartitions[]>;

export function assign(assignor: AssignorName, members: MemberSubscription[], partitionCounts: Map<string, number>): Assignment {
  return assignor === 'range' ? rangeAssign(members, partitionCounts) : roundRobinAssign(members, partitionCounts);
}

function emptyAssignment(members: MemberSubscription[]): Map<string, Map<string, number[]>> {
  return new Map(members.map((member) => [member.memberId, new Map<string, number[]>()]));
}

function toAssignment(working: Map<string, Map<string, number[]>>): Assignment {
  return new Map([...working].map(([memberId, topics]) => [memberId, [...topics].map(([topic, partitions]) => ({ topic, partitions }))]));
}

/** Per topic: members in id order take consecutive ranges, the first (n mod m) one extra. */
export function rangeAssign(members: MemberSubscription[], partitionCounts: Map<string, number>): Assignment {
  const working = emptyAssignment(members);
  const topics = [...new Set(members.flatMap((member) => member.topics))].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic) ?? 0;
    const subscribed = members.filter((member) => member.topics.includes(topic)).map((member) => member.memberId).sort();
    const perMember = Math.floor(count / subscribed.length);
    const extra = count % subscribed.length;
    subscribed.forEach((memberId, index) => {
      const start = perMember * index + Math.min(index, extra);
      const length = perMember + (index < extra ? 1 : 0);
      if (length === 0) return;
      working.get(memberId)!.set(topic, Array.from({ length }, (_, offset) => start + offset));
    });
  }
  return toAssignment(working);
}

/** All topic-partitions in order, dealt to members in id order, skipping members not subscribed. */
export function roundRobinAssign(members: MemberSubscription[], partitionCounts: Map<string, number>): Assignment {
  const working = emptyAssignment(members);
  const sortedMembers = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const topics = [...new Set(members.flatMap((member) => member.topics))].sort();
  let cursor = 0;
  for (const topic of topics) {
    const count = partitionCounts.get(topic) ?? 0;
    for (let partition = 0; partition < count; partition++) {
      // At most one full turn: some member subscribes to the topic, since it came from a subscription.
      for (let step = 0; step < sortedMembers.length; step++) {
        const member = sortedMembers[(cursor + step) % sortedMembers.length]!;
        if (!member.topics.includes(topic)) continue;
        const topicsOfMember = working.get(member.memberId)!;
        topicsOfMember.set(topic, [...(topicsOfMember.get(topic) ?? []), partition]);
        cursor = (cursor + step + 1) % sortedMembers.length;
        break;
      }
    }
  }
  return toAssignment(working);
}
