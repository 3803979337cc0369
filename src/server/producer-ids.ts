// InitProducerId for a single node: producer ids come from blocks reserved in the checkpoint file
// `producer-id-block` in the data dir, and an idempotent producer may bump its epoch (KIP-360).
//
// Ordering: a block is in the file (written atomically and fsynced) BEFORE any id of it is handed
// out, so a restart, even after SIGKILL, continues after the last reserved block and never gives a
// producer id twice. The unused rest of a block is lost at restart, as in Kafka.
// With a Raft metadata log (issues 4-5) the reservation becomes a metadata record; the
// ReserveProducerIdBlock callback is the only thing that changes.
import { join } from 'node:path';
import { ProducerIdManager } from '../coordinator/producer-id-manager.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { encodeCheckpoint, parseCheckpoint, readFileIfExists, writeFileAtomic } from '../storage/checkpoint-file.ts';
import type { Logger } from '../util/log.ts';

export const producerIdBlockFileName = 'producer-id-block';
const checkpointVersion = 0;
const checkpointMaxBytes = 4096;

/** Kafka never hands out epoch Short.MAX_VALUE; at the last usable epoch a bump yields a fresh id. */
const producerEpochMax = 32_766;
/** Epochs remembered for bumps; beyond this the least recently used producer gets a fresh id on its next bump. */
const trackedProducersMax = 100_000;

/**
 * The durable half of id allocation: remembers the last reserved block in `producer-id-block`
 * (Kafka checkpoint text: version, count 1, "firstId blockSize").
 */
export class ProducerIdBlockFile {
  /** First id of the next block: every id below it may have been handed out. */
  #nextBlockStart: number;
  #reserving: Promise<unknown> = Promise.resolve();

  private constructor(readonly path: string, nextBlockStart: number) {
    this.#nextBlockStart = nextBlockStart;
  }

  /** Reads the file; a damaged file refuses the start, since guessing could reuse ids. */
  static async open(dataDir: string): Promise<ProducerIdBlockFile> {
    const path = join(dataDir, producerIdBlockFileName);
    const bytes = await readFileIfExists(path, checkpointMaxBytes);
    if (bytes === null) return new ProducerIdBlockFile(path, 0);
    const [entry] = parseCheckpoint(bytes.toString('utf8'), checkpointVersion, 2, 1);
    if (!entry) throw new Error(`${path} holds no reserved block`);
    const [firstId, blockSize] = entry as [number, number];
    if (firstId < 0 || blockSize < 1 || !Number.isSafeInteger(firstId + blockSize)) throw new Error(`${path} holds an invalid block ${firstId} + ${blockSize}`);
    return new ProducerIdBlockFile(path, firstId + blockSize);
  }

  get nextBlockStart(): number {
    return this.#nextBlockStart;
  }

  /** ReserveProducerIdBlock: resolves with the block's first id once the reservation is on disk. */
  reserve = (blockSize: number): Promise<number> => {
    const reserved = this.#reserving.then(async () => {
      const firstId = this.#nextBlockStart;
      await writeFileAtomic(this.path, encodeCheckpoint(checkpointVersion, [[firstId, blockSize]]));
      this.#nextBlockStart = firstId + blockSize;
      return firstId;
    });
    this.#reserving = reserved.catch(() => undefined);
    return reserved;
  };
}

export interface InitProducerIdInput {
  transactionalId: string | null;
  /** -1 with producerEpoch -1: a new producer. Both set (v3+): bump this producer's epoch. */
  producerId: number;
  producerEpoch: number;
}

export interface InitProducerIdResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

/**
 * The service behind InitProducerId. Kafka gives every non-transactional caller a fresh id with
 * epoch 0; Tide does that too, except that a producer presenting the id and epoch it was last
 * given here gets the same id with the next epoch (KIP-360, as Kafka does for transactional ids),
 * which fences its own older epoch on every partition. Anything else it cannot vouch for
 * (unknown id, e.g. after a restart, or a stale epoch) gets a fresh id: always safe, never a
 * shared id.
 */
export class ProducerIdService {
  /** producerId -> the epoch last handed out, least recently used first. */
  readonly #epochs = new Map<number, number>();

  constructor(private readonly manager: ProducerIdManager, private readonly logger: Logger) {}

  static async open(dataDir: string, logger: Logger): Promise<ProducerIdService> {
    const file = await ProducerIdBlockFile.open(dataDir);
    logger.debug('producer id blocks', { nextBlockStart: file.nextBlockStart });
    return new ProducerIdService(new ProducerIdManager({ reserveBlock: file.reserve }), logger);
  }

  async initProducerId(input: InitProducerIdInput): Promise<InitProducerIdResult> {
    // Transactions are not supported: an authorization failure is fatal in every client, so a
    // transactional producer stops with a clear error instead of retrying forever.
    if (input.transactionalId !== null) return failure(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const newProducer = input.producerId === -1 && input.producerEpoch === -1;
    if (!newProducer && (input.producerId < 0 || input.producerEpoch < 0)) return failure(ErrorCode.INVALID_REQUEST);
    if (!newProducer) {
      const bumped = this.#bump(input.producerId, input.producerEpoch);
      if (bumped) return bumped;
    }
    try {
      const producerId = await this.manager.nextProducerId();
      this.#remember(producerId, 0);
      return { errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
    } catch (error) {
      this.logger.error('reserving a producer id block failed', { error: (error as Error).message });
      return failure(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }

  #bump(producerId: number, producerEpoch: number): InitProducerIdResult | null {
    const current = this.#epochs.get(producerId);
    if (current === undefined) return null;
    // The same request again (its answer was lost): the bump already happened, answer it again.
    if (producerEpoch === current - 1) return { errorCode: ErrorCode.NONE, producerId, producerEpoch: current };
    if (producerEpoch !== current || current >= producerEpochMax) return null;
    this.#remember(producerId, current + 1);
    return { errorCode: ErrorCode.NONE, producerId, producerEpoch: current + 1 };
  }

  #remember(producerId: number, producerEpoch: number): void {
    this.#epochs.delete(producerId);
    this.#epochs.set(producerId, producerEpoch);
    if (this.#epochs.size > trackedProducersMax) this.#epochs.delete(this.#epochs.keys().next().value!);
  }
}

function failure(errorCode: number): InitProducerIdResult {
  return { errorCode, producerId: -1, producerEpoch: -1 };
}
