// Which brokers the active controller fences for silence, and why. Pure: time and connection
// events come in as arguments.
//
// Three ways a broker is found dead:
// - session expired: no heartbeat for sessionTimeoutMs. Covers hangs, SIGSTOP, long GC or event
//   loop pauses and black-holed links: everything that keeps the TCP connection open.
// - connection lost: the connection its last heartbeat came over closed and no heartbeat came since,
//   for connectionLossFenceMs. The kernel closes a killed process's sockets at once, so a SIGKILL is
//   seen in milliseconds instead of a session. A live broker whose connection broke reconnects and
//   heartbeats at once (BrokerLifecycle beats when its link drops), well within the grace; if it
//   cannot (a cut link), fencing it is safe: leaders move within the ISR, and it is unfenced at its
//   next heartbeat.
// - silent since the controller took over: a new controller has seen no connection of anyone yet.
//   Live brokers heartbeat to it as soon as they learn of it (BrokerLifecycle beats on a controller
//   change); a broker that has not done so within takeoverGraceMs is taken for dead (typically the
//   old controller's own broker, killed with it) rather than given a whole session. A broker whose
//   node refused a connection from the new controller's node (nothing listens: the process is
//   gone) gets connectionLossFenceMs instead, as a closed heartbeat connection would.
// A busy but live broker keeps its connection and is only ever fenced by the session.

/** The connection a request came over, as the internal listener sees it. */
export interface HeartbeatConnection {
  readonly id: number;
  readonly closed: boolean;
}

export type FenceReason = 'session expired' | 'connection lost' | 'silent since the controller took over' | 'refused connections when the controller took over';

export interface BrokerLivenessSettings {
  sessionTimeoutMs: number;
  /** Grace after the heartbeat connection closed; 0 or absent: off. */
  connectionLossFenceMs?: number;
  /** Grace for every broker when a controller takes over; 0 or absent: a whole session. */
  takeoverGraceMs?: number;
}

export class BrokerLiveness {
  private readonly lastHeardMs = new Map<number, number>();
  /** The connection each broker's latest heartbeat came over (absent: in-process or unknown). */
  private readonly connectionOf = new Map<number, number>();
  /** Brokers to fence at a time unless they heartbeat first. */
  private readonly deadlines = new Map<number, { atMs: number; reason: FenceReason }>();

  constructor(private readonly settings: BrokerLivenessSettings) {}

  /** A heartbeat or registration of a broker's current incarnation, received at `receivedAtMs` over `connection` (undefined: in-process). */
  heard(nodeId: number, receivedAtMs: number, connection?: HeartbeatConnection): void {
    this.lastHeardMs.set(nodeId, Math.max(receivedAtMs, this.lastHeardMs.get(nodeId) ?? receivedAtMs));
    if (connection?.closed) {
      // Read before its connection closed and handled after: it says nothing about now.
      this.connectionOf.delete(nodeId);
      const graceMs = this.settings.connectionLossFenceMs ?? 0;
      if (graceMs > 0 && !this.deadlines.has(nodeId)) this.deadlines.set(nodeId, { atMs: receivedAtMs + graceMs, reason: 'connection lost' });
      return;
    }
    this.deadlines.delete(nodeId);
    if (connection) this.connectionOf.set(nodeId, connection.id);
    else this.connectionOf.delete(nodeId);
  }

  /** The internal listener saw `connectionId` close. */
  connectionClosed(connectionId: number, nowMs: number): number[] {
    const graceMs = this.settings.connectionLossFenceMs ?? 0;
    const affected: number[] = [];
    for (const [nodeId, id] of this.connectionOf) {
      if (id !== connectionId) continue;
      this.connectionOf.delete(nodeId);
      affected.push(nodeId);
      const earlier = this.deadlines.get(nodeId);
      if (graceMs > 0 && (earlier === undefined || earlier.atMs > nowMs + graceMs)) this.deadlines.set(nodeId, { atMs: nowMs + graceMs, reason: 'connection lost' });
    }
    return affected;
  }

  /**
   * A controller newly in charge: every known broker's session starts now, and with a takeover
   * grace, a deadline too. A broker in `refusing` (its node refused a connection from this one: no
   * process listens there, typically the old controller killed with its broker) gets the
   * connection-loss grace instead, as if its heartbeat connection had just closed.
   */
  takeOver(nodeIds: Iterable<number>, nowMs: number, refusing: ReadonlySet<number> = new Set()): void {
    this.lastHeardMs.clear();
    this.connectionOf.clear();
    this.deadlines.clear();
    const graceMs = this.settings.takeoverGraceMs ?? 0;
    const lossGraceMs = this.settings.connectionLossFenceMs ?? 0;
    for (const nodeId of nodeIds) {
      this.lastHeardMs.set(nodeId, nowMs);
      if (refusing.has(nodeId) && lossGraceMs > 0 && (graceMs <= 0 || lossGraceMs < graceMs)) {
        this.deadlines.set(nodeId, { atMs: nowMs + lossGraceMs, reason: 'refused connections when the controller took over' });
      } else if (graceMs > 0) {
        this.deadlines.set(nodeId, { atMs: nowMs + graceMs, reason: 'silent since the controller took over' });
      }
    }
  }

  /** The unfenced brokers to fence at `nowMs`, with the reason. A broker seen for the first time gets a whole session from now. */
  expired(brokers: Iterable<{ nodeId: number; fenced: boolean }>, nowMs: number): Array<{ nodeId: number; reason: FenceReason }> {
    const result: Array<{ nodeId: number; reason: FenceReason }> = [];
    for (const broker of brokers) {
      const lastMs = this.lastHeardMs.get(broker.nodeId);
      if (lastMs === undefined) {
        this.lastHeardMs.set(broker.nodeId, nowMs);
        continue;
      }
      if (broker.fenced) continue;
      if (nowMs - lastMs > this.settings.sessionTimeoutMs) {
        result.push({ nodeId: broker.nodeId, reason: 'session expired' });
        continue;
      }
      const deadline = this.deadlines.get(broker.nodeId);
      if (deadline !== undefined && nowMs >= deadline.atMs) result.push({ nodeId: broker.nodeId, reason: deadline.reason });
    }
    return result;
  }

  /** Forgets a deadline once acted on, so a broker fenced for it is not fenced again for it after it comes back. */
  fenced(nodeId: number): void {
    this.deadlines.delete(nodeId);
  }
}
