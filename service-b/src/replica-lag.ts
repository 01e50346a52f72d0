/** How the replica lag is measured: a heartbeat counter bumped on the leader, read back on the replica. */
export interface Heartbeat {
  /** Bumps the counter on the leader; resolves with the value written. */
  beat(): Promise<bigint>;
  /** The counter as the replica shows it. */
  seen(): Promise<bigint>;
}

/** Beats kept while the replica misses them (an hour's); past that the middle ones go, never the oldest, which sets the lag. */
const MAX_UNSEEN = 3600;

/**
 * How far the read replica is behind the leader: the age of the oldest heartbeat this instance wrote
 * on the leader that the replica does not show yet, 0 when it shows them all. Unlike comparing the
 * replica's receive and replay positions, this keeps growing when streaming stops. It is read
 * from memory, refreshed by probe(), so deciding where a read goes costs no query.
 */
export class ReplicaLag {
  /** Beats written and not yet seen on the replica, oldest first, with when each was sent. */
  private unseen: Array<{ beat: bigint; sentAt: number }> = [];
  private lagSeconds: number | undefined;
  private probing: Promise<void> | undefined;

  constructor(
    private readonly heartbeat: Heartbeat,
    private readonly maxLagMs: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** The lag at the last probe, in seconds; undefined while the replica cannot be read. */
  get seconds(): number | undefined {
    return this.lagSeconds;
  }

  /** The lag when it is within the bound, so eventually consistent reads may go to the replica; else undefined. */
  freshLag(): number | undefined {
    return this.lagSeconds !== undefined && this.lagSeconds * 1000 <= this.maxLagMs ? this.lagSeconds : undefined;
  }

  /** One beat and one look at the replica; a probe still under way is waited for, not doubled. */
  probe(): Promise<void> {
    this.probing ??= this.beatAndLook().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async beatAndLook(): Promise<void> {
    const sentAt = this.now();
    // With the leader down no beat is written, and the replica can be no further behind than the
    // beats it already misses.
    const [written, seen] = await Promise.all([
      this.heartbeat.beat().catch(() => undefined),
      this.heartbeat.seen().catch(() => undefined),
    ]);
    if (written !== undefined) this.unseen.push({ beat: written, sentAt });
    if (this.unseen.length > MAX_UNSEEN) this.unseen.splice(1, 1);
    if (seen === undefined) {
      this.lagSeconds = undefined;
      return;
    }
    this.unseen = this.unseen.filter((entry) => entry.beat > seen);
    const oldest = this.unseen[0];
    this.lagSeconds = oldest ? (this.now() - oldest.sentAt) / 1000 : 0;
  }
}
