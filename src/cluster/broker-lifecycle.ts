// A broker's membership in the cluster: it registers with the active controller under an
// incarnation id (fresh at every process start, so the controller can tell a restart from a
// duplicate), gets a broker epoch, then heartbeats every broker.heartbeat.interval.ms with the
// metadata offset it has applied. The controller unfences it once that offset has caught up and
// fences it when heartbeats stop for broker.session.timeout.ms. A heartbeat refused for a stale
// epoch (the controller fenced and forgot this incarnation) leads to a fresh registration.
// beatNow() sends the next heartbeat at once: when the controller changes or the link to it broke,
// the controller fences a broker that stays silent for broker.connection.loss.fence.ms (a dead
// process's connection closes too), so a live one must speak up quickly. Every heartbeat also says
// whether this node's storage is full (its disk guard refuses appends); the caller beats at once when
// that changes, so the controller moves the node's leaderships away without waiting an interval.
// After a start a fenced broker may ask to stay fenced for a while (holdFenced: its first scrub).
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { Logger } from '../util/log.ts';
import type { RegisterParams } from './controller-rpc.ts';
import type { ForwardToController } from './raft-metadata-service.ts';

export interface BrokerLifecycleOptions {
  nodeId: number;
  /** How clients and peers reach this node. */
  address: Omit<RegisterParams, 'nodeId' | 'incarnationId'>;
  call: ForwardToController;
  /** The metadata offset this node has applied (and its listeners have seen). */
  metadataOffset(): number;
  /** Whether this node's storage is full (its disk guard refuses appends); absent: never. */
  storageFull?(): boolean;
  /** While fenced: whether to ask to stay fenced for now (src/server/startup-fence-hold.ts); absent: never. */
  holdFenced?(): boolean;
  heartbeatIntervalMs: number;
  logger: Logger;
}

export type BrokerState = 'registering' | 'fenced' | 'active' | 'stopped';

export class BrokerLifecycle {
  readonly incarnationId = randomUUID();
  private epoch = -1;
  private fenced = true;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private beating = false;
  private beatAgain = false;

  constructor(private readonly options: BrokerLifecycleOptions) {}

  get brokerEpoch(): number {
    return this.epoch;
  }

  get state(): BrokerState {
    if (this.stopped) return 'stopped';
    if (this.epoch < 0) return 'registering';
    return this.fenced ? 'fenced' : 'active';
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops heartbeating; a last heartbeat asks to be fenced so leaderships move now, not after the session timeout. */
  async stop(farewellTimeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (this.epoch < 0 || farewellTimeoutMs <= 0) return;
    try {
      await withTimeout(this.options.call('heartbeat', { nodeId: this.options.nodeId, brokerEpoch: this.epoch, metadataOffset: this.options.metadataOffset(), wantFence: true, storageFull: this.storageFull() }), farewellTimeoutMs);
    } catch (error) {
      this.options.logger.info('farewell heartbeat not answered', { error: (error as Error).message });
    }
  }

  /** Heartbeats now (or right after the one in flight) instead of at the next interval. */
  beatNow(): void {
    if (this.stopped) return;
    if (this.beating) {
      this.beatAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.schedule(0);
  }

  private storageFull(): boolean {
    return this.options.storageFull?.() === true;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beating = true;
      this.beatAgain = false;
      this.running = this.beat().finally(() => {
        this.beating = false;
        this.schedule(this.beatAgain ? 0 : this.options.heartbeatIntervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const { nodeId, logger } = this.options;
    try {
      if (this.epoch < 0) {
        const answer = await this.options.call('register', { nodeId, incarnationId: this.incarnationId, ...this.options.address });
        if (this.stopped) return;
        if (answer.errorCode !== ErrorCode.NONE) {
          logger.warn('broker registration refused', { errorCode: answer.errorCode });
          return;
        }
        this.epoch = answer.brokerEpoch;
        this.fenced = true;
        logger.info('broker registered', { brokerEpoch: this.epoch, incarnationId: this.incarnationId });
      }
      const wantFence = this.fenced && this.options.holdFenced?.() === true;
      const answer = await this.options.call('heartbeat', { nodeId, brokerEpoch: this.epoch, metadataOffset: this.options.metadataOffset(), wantFence, storageFull: this.storageFull() });
      if (this.stopped) return;
      if (answer.errorCode === ErrorCode.STALE_BROKER_EPOCH || answer.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
        logger.warn('heartbeat refused; registering again', { errorCode: answer.errorCode, brokerEpoch: this.epoch });
        this.epoch = -1;
        return;
      }
      if (answer.errorCode !== ErrorCode.NONE) {
        logger.warn('heartbeat failed', { errorCode: answer.errorCode });
        return;
      }
      if (answer.fenced !== this.fenced) logger.info(answer.fenced ? 'broker fenced' : 'broker unfenced', { brokerEpoch: this.epoch });
      this.fenced = answer.fenced;
    } catch (error) {
      logger.warn('cannot reach the active controller', { error: (error as Error).message });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error: unknown) => { clearTimeout(timer); reject(error as Error); });
  });
}
