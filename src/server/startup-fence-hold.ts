// After a start, a node in a cluster stays fenced — it leads nothing and joins no ISR — while its
// scrubber's first pass runs (at disk speed), so damage in logs that recovery trusted without a
// scan is found and repaired before the controller could elect this node leader of them (issue 5,
// item 7: a damaged replica is never elected). It catches up as a follower meanwhile (fetching
// needs no unfencing). The hold applies only while another broker is unfenced — a whole-cluster
// restart must not wait on every node's scrub — and for at most log.scrub.startup.fenced.max.ms;
// once released it is over for this process.
import { isClusterMetadataImage } from '../controller/metadata-image-builder.ts';
import type { MetadataImage } from '../controller/metadata-image.ts';
import type { Logger } from '../util/log.ts';

export interface StartupFenceHoldOptions {
  nodeId: number;
  /** The scrubber has logs it has not read since the node started. */
  firstPassPending(): boolean;
  image(): MetadataImage;
  maxMs: number;
  now(): number;
  logger: Logger;
}

export class StartupFenceHold {
  private released: boolean;
  private announced = false;
  private readonly startedMs: number;
  private readonly listeners: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: StartupFenceHoldOptions) {
    this.startedMs = options.now();
    this.released = options.maxMs <= 0;
    if (!this.released) {
      this.timer = setTimeout(() => this.release(`the first scrub took longer than ${options.maxMs} ms; asking to be unfenced`), options.maxMs);
      this.timer.unref();
    }
  }

  /** Whether the broker should ask to stay fenced now. */
  holding(): boolean {
    if (this.released) return false;
    if (!this.options.firstPassPending()) {
      this.release('first scrub done; asking to be unfenced');
      return false;
    }
    if (this.options.now() - this.startedMs >= this.options.maxMs) {
      this.release(`the first scrub took longer than ${this.options.maxMs} ms; asking to be unfenced`);
      return false;
    }
    if (!otherBrokerUnfenced(this.options.image(), this.options.nodeId)) return false;
    if (!this.announced) {
      this.announced = true;
      this.options.logger.info('staying fenced while the first scrub of this node\'s logs runs', { maxMs: this.options.maxMs });
    }
    return true;
  }

  /** `listener` runs once, when the hold ends (the broker then heartbeats at once). */
  onRelease(listener: () => void): void {
    if (this.released) listener();
    else this.listeners.push(listener);
  }

  release(reason: string): void {
    if (this.released) return;
    this.released = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.announced) this.options.logger.info(reason, { heldMs: this.options.now() - this.startedMs });
    for (const listener of this.listeners.splice(0)) listener();
  }
}

function otherBrokerUnfenced(image: MetadataImage, nodeId: number): boolean {
  if (!isClusterMetadataImage(image)) return false;
  for (const broker of image.brokers.values()) if (broker.nodeId !== nodeId && !broker.fenced) return true;
  return false;
}
