// How a node outside the voter list follows the metadata log: it asks a voter for the committed
// entries after the last one it applied (or a snapshot when they are compacted away) and applies
// them in order; when caught up it asks again after a short pause. The image starts empty at each
// process start and is rebuilt from the quorum, so an observer keeps no metadata log on disk.
import type { Logger } from '../util/log.ts';
import type { FetchMetadataResult } from './controller-rpc.ts';
import type { RaftMetadataService } from './raft-metadata-service.ts';

export interface ObserverFollowerOptions {
  fetch(fromOffset: number): Promise<FetchMetadataResult>;
  metadata: RaftMetadataService;
  onLeader(leaderId: number | null, term: number): void;
  fromBase64(text: string): Uint8Array;
  logger: Logger;
  idlePollMs?: number;
}

export class ObserverFollower {
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ObserverFollowerOptions) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll().then((more) => this.schedule(more ? 0 : (this.options.idlePollMs ?? 200)));
    }, delayMs);
    this.timer.unref();
  }

  /** One fetch; true when there may be more to fetch at once. */
  private async poll(): Promise<boolean> {
    const { metadata, logger } = this.options;
    let answer: FetchMetadataResult;
    try {
      answer = await this.options.fetch(metadata.appliedOffset + 1);
    } catch (error) {
      logger.warn('cannot fetch metadata from the quorum', { error: (error as Error).message });
      return false;
    }
    if (this.stopped) return false;
    this.options.onLeader(answer.leaderId, answer.term);
    if (answer.snapshot && answer.snapshot.offset > metadata.appliedOffset) {
      metadata.restoreSnapshot(this.options.fromBase64(answer.snapshot.data));
      logger.info('installed metadata snapshot', { offset: answer.snapshot.offset });
    }
    let expected = Math.max(1, metadata.appliedOffset + 1);
    for (const entry of answer.entries) {
      if (entry.offset < expected) continue; // already applied (a repeated answer)
      if (entry.offset !== expected) {
        logger.warn('metadata entries do not continue the local log; fetching again', { expected, got: entry.offset });
        return false;
      }
      metadata.applyEntry(entry.offset, this.options.fromBase64(entry.data));
      expected++;
    }
    return metadata.appliedOffset < answer.highOffset && answer.entries.length > 0;
  }
}
