import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Every metric Service B exports, on a registry of its own. */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly consumed = new Counter({
    name: "service_b_events_consumed_total",
    help: "Messages read from the topic.",
    registers: [this.registry],
  });

  readonly applied = new Counter({
    name: "service_b_events_applied_total",
    help: "Events added to the running total.",
    registers: [this.registry],
  });

  readonly duplicates = new Counter({
    name: "service_b_events_duplicate_total",
    help: "Events skipped because their id was applied before.",
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: "service_b_events_dead_lettered_total",
    help: "Poison messages sent to the dead-letter topic.",
    registers: [this.registry],
  });

  readonly applyFailures = new Counter({
    name: "service_b_apply_failures_total",
    help: "Failed attempts to apply a batch (retried with backoff).",
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: "service_b_batch_size",
    help: "Messages per applied slice.",
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: "service_b_batch_duration_seconds",
    help: "Time to apply one slice and commit its offsets.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly endToEnd = new Histogram({
    name: "service_b_end_to_end_latency_seconds",
    help: "From the event's creation in the outbox to its application to the total.",
    // Fine between 50 ms and 1 s, where a healthy pipeline is, so p50 and p99 are read to within tens of ms.
    buckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private totalSource: (() => Promise<string>) | undefined;

  // Read at each scrape rather than set after each slice: slices of several partitions (and instances)
  // commit side by side, and none of them sees the others' uncommitted sums.
  readonly total = new Gauge({
    name: "service_b_running_total",
    help: "The running total, read from the leader at each scrape (a float here; the API's is exact); NaN while it cannot be read.",
    registers: [this.registry],
    collect: async () => {
      const total = await this.totalSource?.().catch(() => undefined);
      this.total.set(total === undefined ? Number.NaN : Number(total));
    },
  });

  readonly consumerLag = new Gauge({
    name: "service_b_consumer_lag",
    help: "Messages on the topic not yet applied and committed by the group, per partition.",
    labelNames: ["partition"] as const,
    registers: [this.registry],
  });

  readonly partitionGap = new Gauge({
    name: "service_b_partition_gap",
    help: "1 for a partition stopped because records were deleted from Kafka before they were applied.",
    labelNames: ["partition"] as const,
    registers: [this.registry],
  });

  readonly partitionTooOldEvent = new Gauge({
    name: "service_b_partition_too_old_event",
    help: "1 for a partition stopped at an event created longer ago than PROCESSED_RETENTION_DAYS (possibly a redelivery of one applied and forgotten).",
    labelNames: ["partition"] as const,
    registers: [this.registry],
  });

  private replacementsSource: (() => Promise<Map<number, number>>) | undefined;

  // From the database, so a replacement stays visible (and alerting) across restarts of Service B.
  readonly logReplaced = new Gauge({
    name: "service_b_log_replaced_timestamp_seconds",
    help: "When the partition's Kafka log was last found replaced (lost, or its topic created again), 0 if never; read from the leader at each scrape.",
    labelNames: ["partition"] as const,
    registers: [this.registry],
    collect: async () => {
      const replacements = await this.replacementsSource?.().catch(() => undefined);
      if (replacements === undefined) return;
      this.logReplaced.reset();
      for (const [partition, at] of replacements) this.logReplaced.set({ partition: String(partition) }, at);
    },
  });

  private replicaLagSource: () => number | undefined = () => undefined;

  // Read at each scrape, so a look at the replica that has not answered since shows a lag that grows
  // with the time since, never the figure it last had.
  readonly replicaLag = new Gauge({
    name: "service_b_replica_lag_seconds",
    help: "How far the read replica may be behind the leader: the time since the newest heartbeat it showed Service B's last look was sent (+Inf when it shows none); NaN while it cannot be read.",
    registers: [this.registry],
    collect: () => {
      this.replicaLag.set(this.replicaLagSource() ?? Number.NaN);
    },
  });

  readonly replicaUp = new Gauge({
    name: "service_b_replica_up",
    help: "1 when Service B's last look at the read replica succeeded, 0 when it could not read it.",
    registers: [this.registry],
    collect: () => {
      this.replicaUp.set(this.replicaLagSource() === undefined ? 0 : 1);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Where the running total gauge reads the total at each scrape. */
  readTotalFrom(source: () => Promise<string>): void {
    this.totalSource = source;
  }

  /** Where the log-replaced gauge reads each partition's last replacement at each scrape. */
  readLogReplacementsFrom(source: () => Promise<Map<number, number>>): void {
    this.replacementsSource = source;
  }

  /** Where the replica gauges read the lag at each scrape: seconds, or undefined when the replica cannot be read. */
  replicaLagFrom(source: () => number | undefined): void {
    this.replicaLagSource = source;
  }

  /** Consumer lag per partition, or undefined when it cannot be read: no series then, never the last figures. */
  recordConsumerLag(lags: Map<number, number> | undefined): void {
    this.consumerLag.reset();
    for (const [partition, lag] of lags ?? []) this.consumerLag.set({ partition: String(partition) }, lag);
  }
}
