/** A partition's log in Kafka: offsets [start, end). */
export interface PartitionLog {
  start: bigint;
  end: bigint;
}

/** What one look at the pipeline saw, each part read after the one before it. */
export interface DeliverySample {
  /** When, on the outbox database's clock (ms). */
  at: number;
  /** The outbox database's WAL position then: every transaction committed before `at` is behind it. */
  walLsn: bigint;
  /** How far Debezium has confirmed its slot: everything before it is in Kafka. Null without a slot. */
  confirmedLsn: bigint | null;
  /** Each partition's log, read after confirmedLsn. */
  logs: Map<number, PartitionLog>;
  /** Each partition's last applied offset, as Service B's database holds it, read after the logs. */
  applied: Map<number, bigint>;
}

interface Pending {
  at: number;
  walLsn: bigint;
  /** Once Debezium confirmed past walLsn: when, and where each partition's log ended then. */
  inKafka?: { at: number; ends: Map<number, bigint> };
}

/**
 * The time before which every committed event has had its chance to be applied: Debezium has
 * confirmed the slot past it (so Kafka has it), and Service B has applied each partition past where
 * its log ended then. An event created before the horizon and not applied is missing; after it, late.
 *
 * Connect being behind is waited on for as long as it takes (a re-send would only queue behind the
 * events Connect has not sent). Service B being behind is waited on for `applyWaitMs` at most: its
 * stored position is its own claim, and past that wait what Kafka held is judged anyway, so a Service
 * B stuck or wrong about its position cannot hide an event for ever (a re-send it then applies is
 * skipped by id if it was merely late).
 */
export class DeliveryHorizon {
  private pending: Pending[] = [];
  private reached = Number.NEGATIVE_INFINITY;

  constructor(private readonly applyWaitMs: number) {}

  /** Events committed before this time (ms, the outbox database's clock) have had their chance. */
  get horizon(): number {
    return this.reached;
  }

  observe(sample: DeliverySample): void {
    this.pending.push({ at: sample.at, walLsn: sample.walLsn });
    for (const pending of this.pending) {
      if (!pending.inKafka && sample.confirmedLsn !== null && sample.confirmedLsn >= pending.walLsn) {
        pending.inKafka = { at: sample.at, ends: new Map([...sample.logs].map(([p, log]) => [p, log.end])) };
      }
      if (!pending.inKafka) continue;
      // A log that now ends before where it ended was replaced (a lost disk, the topic created again):
      // what it held is gone, and the new log, up to where it ends now, is what Service B can apply.
      for (const [partition, end] of pending.inKafka.ends) {
        const now = sample.logs.get(partition);
        if (now !== undefined && now.end < end) pending.inKafka.ends.set(partition, now.end);
      }
    }
    const delivered = this.pending.findLastIndex(
      (pending) =>
        pending.inKafka !== undefined &&
        (sample.at - pending.inKafka.at >= this.applyWaitMs || appliedThrough(pending.inKafka.ends, sample)),
    );
    if (delivered < 0) return;
    this.reached = Math.max(this.reached, (this.pending[delivered] as Pending).at);
    this.pending.splice(0, delivered + 1);
  }
}

/** Whether Service B has applied every partition up to `ends` (an empty log has nothing to apply). */
function appliedThrough(ends: Map<number, bigint>, sample: DeliverySample): boolean {
  for (const [partition, end] of ends) {
    const log = sample.logs.get(partition);
    if (log !== undefined && log.start >= end) continue;
    if ((sample.applied.get(partition) ?? -1n) < end - 1n) return false;
  }
  return true;
}
