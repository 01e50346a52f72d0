/** Beats remembered (an hour's); past that the middle ones go, never the oldest, so a lag stays an upper bound. */
const MAX_BEATS = 3600;

/**
 * How far behind the leader a replica's answer may be. This instance bumps a heartbeat counter on
 * the leader every second and remembers when it sent each beat; every replica read returns the
 * counter beside its data, in the same statement. The standby that answered has every commit made
 * before the newest of this instance's beats it shows was sent, so the answer's lag is the time
 * since then. It is that connection's own, whichever standby a pooled connection to CloudNativePG's
 * -ro Service reaches, and it grows when streaming stops and when beats stop being written (the
 * leader not answering): a silent leader is never taken for an up-to-date replica.
 */
export class ReplicaLag {
  /** Beats this instance wrote on the leader, oldest first, with when each was sent. */
  private beats: Array<{ beat: bigint; sentAt: number }> = [];
  private beating: Promise<void> | undefined;

  constructor(
    private readonly beatOnLeader: () => Promise<bigint>,
    private readonly maxLagMs: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** Writes one beat on the leader; a beat asked for while another is under way waits for it, not doubled. */
  beat(): Promise<void> {
    this.beating ??= this.sendBeat().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async sendBeat(): Promise<void> {
    const sentAt = this.now();
    const beat = await this.beatOnLeader();
    this.beats.push({ beat, sentAt });
    if (this.beats.length > MAX_BEATS) this.beats.splice(1, 1);
  }

  /**
   * Seconds the standby that showed heartbeat `seen` may be behind: since the newest of this
   * instance's beats it shows was sent. Infinity when it shows none of them (behind them all).
   */
  lagOf(seen: bigint): number {
    const newestSeen = this.beats.findLast((entry) => entry.beat <= seen);
    return newestSeen ? (this.now() - newestSeen.sentAt) / 1000 : Number.POSITIVE_INFINITY;
  }

  /** lagOf(seen) when within the bound, so the answer may serve an eventually consistent read; else undefined. */
  freshLag(seen: bigint): number | undefined {
    const lag = this.lagOf(seen);
    return lag * 1000 <= this.maxLagMs ? lag : undefined;
  }
}
