// Turns a Kafka error code into one sentence a user can act on. The subject says what the
// request was about ("topic orders", "group billing"); the broker's own message is appended when
// it adds something.
import { ErrorCode, errorMessage, errorName } from '../../protocol/error-codes.ts';
import { CliError } from '../cli-error.ts';

type Phrase = (subject: string) => string;

const phrases: Partial<Record<number, Phrase>> = {
  [ErrorCode.TOPIC_ALREADY_EXISTS]: (s) => `${s} already exists`,
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: (s) => `${s} does not exist (see tide topic list)`,
  [ErrorCode.UNKNOWN_TOPIC_ID]: (s) => `${s} does not exist (see tide topic list)`,
  [ErrorCode.INVALID_TOPIC_EXCEPTION]: (s) => `${s}: invalid topic name (letters, digits, '.', '_' and '-', at most 249 characters)`,
  [ErrorCode.INVALID_PARTITIONS]: (s) => `${s}: invalid partition count`,
  [ErrorCode.INVALID_REPLICATION_FACTOR]: (s) => `${s}: invalid replication factor (it cannot exceed the number of brokers)`,
  [ErrorCode.INVALID_CONFIG]: (s) => `${s}: invalid configuration`,
  [ErrorCode.POLICY_VIOLATION]: (s) => `${s}: refused by a cluster policy`,
  [ErrorCode.NOT_ENOUGH_REPLICAS]: (s) => `${s}: fewer in-sync replicas than min.insync.replicas; wait for replicas to catch up or use --acks 1`,
  [ErrorCode.NOT_LEADER_OR_FOLLOWER]: (s) => `${s}: leadership moved; retry`,
  [ErrorCode.LEADER_NOT_AVAILABLE]: (s) => `${s}: no leader right now; retry in a moment`,
  [ErrorCode.MESSAGE_TOO_LARGE]: (s) => `${s}: message too large (see max.message.bytes)`,
  [ErrorCode.RECORD_LIST_TOO_LARGE]: (s) => `${s}: batch too large; lower the batch size`,
  [ErrorCode.GROUP_ID_NOT_FOUND]: (s) => `${s} does not exist (see tide group list)`,
  [ErrorCode.NON_EMPTY_GROUP]: (s) => `${s} still has members; stop its consumers first`,
  [ErrorCode.COORDINATOR_NOT_AVAILABLE]: (s) => `${s}: the group coordinator is not available yet; retry in a moment`,
  [ErrorCode.NOT_COORDINATOR]: (s) => `${s}: the group coordinator moved; retry`,
  [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]: (s) => `${s}: the group coordinator is still loading; retry in a moment`,
  [ErrorCode.INVALID_GROUP_ID]: (s) => `${s}: invalid group id`,
  [ErrorCode.UNSUPPORTED_VERSION]: (s) => `${s}: the broker does not support this request version`,
  [ErrorCode.REQUEST_TIMED_OUT]: (s) => `${s}: the broker timed out; retry`,
  [ErrorCode.OFFSET_OUT_OF_RANGE]: (s) => `${s}: offset out of range (see tide topic describe for log start and high watermark)`,
  [ErrorCode.CLUSTER_AUTHORIZATION_FAILED]: (s) => `${s}: not authorized on the cluster`,
  [ErrorCode.TOPIC_AUTHORIZATION_FAILED]: (s) => `${s}: not authorized`,
  [ErrorCode.GROUP_AUTHORIZATION_FAILED]: (s) => `${s}: not authorized`,
};

/** Error codes worth retrying a few times before giving up (leadership and coordinator moves). */
export const transientErrorCodes: ReadonlySet<number> = new Set([
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.REQUEST_TIMED_OUT,
]);

/** The sentence for an error, naming the Kafka error so it can be looked up. */
export function describeKafkaError(subject: string, errorCode: number, brokerMessage?: string | null): string {
  const phrase = phrases[errorCode];
  const base = phrase ? phrase(subject) : `${subject}: ${errorMessage(errorCode) ?? 'error'}`;
  const extra = brokerMessage && brokerMessage !== errorMessage(errorCode) && !base.includes(brokerMessage) ? ` — ${brokerMessage}` : '';
  return `${base}${extra} (${errorName(errorCode)})`;
}

export class KafkaRequestError extends CliError {
  constructor(readonly subject: string, readonly errorCode: number, brokerMessage?: string | null) {
    super(describeKafkaError(subject, errorCode, brokerMessage), 1);
  }
}

/** Throws a KafkaRequestError unless errorCode is NONE. */
export function check(subject: string, errorCode: number, brokerMessage?: string | null): void {
  if (errorCode !== ErrorCode.NONE) throw new KafkaRequestError(subject, errorCode, brokerMessage);
}
