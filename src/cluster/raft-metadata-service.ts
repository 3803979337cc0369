// MetadataService of a node in a cluster. The image is replayed from the committed metadata log
// (fed by the Raft driver on voters, by the observer follower elsewhere) into a
// MetadataImageBuilder. Listeners (the replica manager, the group service) are called off the Raft
// apply path, one image at a time, newest wins; `visibleOffset` is the log offset every listener
// has seen. Admin changes are forwarded to the active controller, and answered only once the local
// image has applied the change's offset, so a client that created a topic here can produce at once.
import { decodeRecords, type MetadataRecord } from '../controller/metadata-records.ts';
import { MetadataImageBuilder, type ClusterMetadataImage } from '../controller/metadata-image-builder.ts';
import type { MetadataImage } from '../controller/metadata-image.ts';
import type { MetadataService } from '../controller/metadata-service.ts';
import type { ElectionType } from '../controller/partition-election.ts';
import type { ElectLeadersResult, ElectLeadersTopic } from '../controller/quorum-controller.ts';
import type { AlterConfigOperation, CreateTopicRequest, TopicChangeResult } from '../controller/topic-requests.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { Logger } from '../util/log.ts';
import { ControllerUnavailableError, type ControllerMethod, type ControllerMethods } from './controller-rpc.ts';

export type ForwardToController = <M extends ControllerMethod>(method: M, params: ControllerMethods[M]['params']) => Promise<ControllerMethods[M]['result']>;

interface OffsetWaiter {
  offset: number;
  resolve(): void;
}

export class RaftMetadataService implements MetadataService {
  private builder = new MetadataImageBuilder();
  private controllerId = -1;
  private current: ClusterMetadataImage;
  private readonly listeners: Array<(image: MetadataImage) => void | Promise<void>> = [];
  private notifiedOffset = -1;
  private notifying = false;
  private waiters: OffsetWaiter[] = [];
  private forward: ForwardToController | null = null;

  constructor(private readonly logger: Logger, private readonly applyWaitMs: number) {
    this.current = this.builder.image();
  }

  /** Set once the node's RPC client exists (it needs this service's leader view first). */
  setForwarder(forward: ForwardToController): void {
    this.forward = forward;
  }

  // ---- Feeding the image ------------------------------------------------------------------------

  /** Applies one committed log entry (empty data: a leader's no-op). Decoding failures throw: the log is damaged. */
  applyEntry(offset: number, data: Uint8Array): void {
    const records: MetadataRecord[] = data.length === 0 ? [] : decodeRecords(data);
    this.builder.apply(records, offset);
    this.refresh();
  }

  restoreSnapshot(data: Uint8Array): void {
    this.builder = data.length === 0 ? new MetadataImageBuilder() : MetadataImageBuilder.fromSnapshot(data);
    this.builder.setControllerId(this.controllerId);
    this.refresh();
  }

  takeSnapshot(): Uint8Array {
    return this.builder.snapshot();
  }

  /** The Raft leader is the active controller; -1 while there is none. */
  setControllerId(controllerId: number): void {
    if (controllerId === this.controllerId) return;
    this.controllerId = controllerId;
    this.builder.setControllerId(controllerId);
    this.current = this.builder.image();
  }

  get appliedOffset(): number {
    return this.builder.appliedOffset;
  }

  /** The offset whose image every change listener has finished with (-1 before any). */
  get visibleOffset(): number {
    return this.notifiedOffset;
  }

  // ---- MetadataService --------------------------------------------------------------------------

  image(): ClusterMetadataImage {
    return this.current;
  }

  onChange(listener: (image: MetadataImage) => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  async createTopic(request: CreateTopicRequest, validateOnly: boolean): Promise<TopicChangeResult & { topicId: string | null }> {
    const result = await this.forwarded('createTopic', { request, validateOnly });
    if ('offset' in result) return { errorCode: result.errorCode, errorMessage: result.errorMessage, topicId: result.topicId };
    return { ...result, topicId: null };
  }

  async deleteTopic(name: string): Promise<TopicChangeResult> {
    return strip(await this.forwarded('deleteTopic', { name }));
  }

  async createPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<TopicChangeResult> {
    return strip(await this.forwarded('createPartitions', { name, totalCount, validateOnly }));
  }

  async alterTopicConfigs(name: string, operations: AlterConfigOperation[], validateOnly: boolean): Promise<TopicChangeResult> {
    return strip(await this.forwarded('alterTopicConfigs', { name, operations, validateOnly }));
  }

  async electLeaders(type: ElectionType, topics: ElectLeadersTopic[] | null): Promise<ElectLeadersResult | null> {
    if (!this.forward) return null;
    let result: ElectLeadersResult;
    try {
      result = await this.forward('electLeaders', { type, topics });
    } catch (error) {
      if (!(error instanceof ControllerUnavailableError)) throw error;
      this.logger.warn('forwarding to the active controller failed', { method: 'electLeaders', error: error.message });
      return null;
    }
    if (!(await this.waitForOffset(result.offset, this.applyWaitMs))) {
      this.logger.warn('elections committed but not yet applied here', { offset: result.offset, applied: this.notifiedOffset });
    }
    return result;
  }

  /** Resolves once every listener has seen the image at `offset` (false after `timeoutMs`). */
  waitForOffset(offset: number, timeoutMs: number): Promise<boolean> {
    if (this.notifiedOffset >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      const entry: OffsetWaiter = { offset, resolve: () => { clearTimeout(timer); resolve(true); } };
      this.waiters.push(entry);
    });
  }

  // ---- Internals --------------------------------------------------------------------------------

  private async forwarded<M extends 'createTopic' | 'deleteTopic' | 'createPartitions' | 'alterTopicConfigs'>(
    method: M, params: ControllerMethods[M]['params'],
  ): Promise<ControllerMethods[M]['result'] | TopicChangeResult> {
    if (!this.forward) return { errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: 'the node is still starting' };
    let result: ControllerMethods[M]['result'];
    try {
      result = await this.forward(method, params);
    } catch (error) {
      if (!(error instanceof ControllerUnavailableError)) throw error;
      this.logger.warn('forwarding to the active controller failed', { method, error: error.message });
      return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: error.message };
    }
    if (result.errorCode === ErrorCode.NONE && result.offset > 0 && !(await this.waitForOffset(result.offset, this.applyWaitMs))) {
      // Committed, but this node has not applied it yet: the change holds; the client may look again.
      this.logger.warn('change committed but not yet applied here', { method, offset: result.offset, applied: this.notifiedOffset });
    }
    return result;
  }

  private refresh(): void {
    this.current = this.builder.image();
    if (!this.notifying) void this.notifyLoop();
  }

  /** Hands the newest image to every listener in turn; images applied meanwhile are folded into the next round. */
  private async notifyLoop(): Promise<void> {
    this.notifying = true;
    try {
      // Bounded by the log: each round advances notifiedOffset to what was applied when it started.
      while (this.notifiedOffset < this.builder.appliedOffset) {
        const offset = this.builder.appliedOffset;
        const image = this.current;
        for (const listener of this.listeners) {
          try {
            await listener(image);
          } catch (error) {
            this.logger.error('metadata listener failed', { error: (error as Error).stack });
          }
        }
        this.notifiedOffset = offset;
        const due = this.waiters.filter((waiter) => waiter.offset <= offset);
        this.waiters = this.waiters.filter((waiter) => waiter.offset > offset);
        for (const waiter of due) waiter.resolve();
      }
    } finally {
      this.notifying = false;
    }
  }
}

function strip(result: TopicChangeResult): TopicChangeResult {
  return { errorCode: result.errorCode, errorMessage: result.errorMessage };
}
