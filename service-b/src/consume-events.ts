import { isSampled } from "@sum/contract";
import type pg from "pg";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { applyBatch } from "./domain/apply-batch.js";
import type { IncomingMessage, SumEvent } from "./domain/sum-event.js";
import { FailureStreak } from "./failure-streak.js";
import type { ServiceMetrics } from "./metrics.js";
import { applyEvents, lastAppliedOffset } from "./persistence/totals-store.js";
import { describeGap, kafkaPipeline } from "./transport/kafka-consumer.js";

export interface EventConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Why events are not being consumed and applied, or undefined while they are. */
  whyNotConsuming(): string | undefined;
  /** Messages not yet consumed, per partition. */
  lag(): Promise<Map<number, number>>;
  /** Whether the partition is stopped at records deleted before they were applied. */
  hasGap(partition: number): boolean;
}

type ConsumeConfig = Pick<
  Config,
  | "KAFKA_BROKERS"
  | "SERVICE_ID"
  | "KAFKA_GROUP_ID"
  | "KAFKA_SESSION_TIMEOUT_MS"
  | "FETCH_MIN_BYTES"
  | "FETCH_MAX_WAIT_MS"
  | "KAFKA_TOPIC"
  | "KAFKA_DLQ_TOPIC"
  | "APPLY_SLICE_SIZE"
  | "MAX_DECOMPRESSED_BATCH_BYTES"
  | "DB_POOL_SIZE"
  | "RETRY_MAX_BACKOFF_MS"
>;

/**
 * The path of an event, top to bottom: consumed from Kafka a slice of one partition at a time,
 * applied (poison to the dead-letter topic, each valid event once), stored with the total and the
 * partition's position in one transaction on the leader.
 */
export function consumeEvents(deps: {
  config: ConsumeConfig;
  leader: pg.Pool;
  metrics: ServiceMetrics;
  logger: Logger;
}): EventConsumer {
  const { config, leader, metrics, logger } = deps;
  /** Partitions stopped because records were deleted before they were applied: why, by partition. */
  const gaps = new Map<number, string>();
  // How the apply path fares on the leader (its reads of stored offsets, its slices), for readiness.
  const applying = new FailureStreak("applying events");

  const pipeline = kafkaPipeline({
    brokers: config.KAFKA_BROKERS,
    clientId: config.SERVICE_ID,
    groupId: config.KAFKA_GROUP_ID,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    fetchMinBytes: config.FETCH_MIN_BYTES,
    fetchMaxWaitMs: config.FETCH_MAX_WAIT_MS,
    topic: config.KAFKA_TOPIC,
    dlqTopic: config.KAFKA_DLQ_TOPIC,
    sliceSize: config.APPLY_SLICE_SIZE,
    maxBatchBytes: config.MAX_DECOMPRESSED_BATCH_BYTES,
    // Each partition has its own row (totals-store.ts), so slices of different partitions commit side
    // by side; one connection stays free for reads, pruning and the lag probes.
    applyConcurrency: Math.max(1, config.DB_POOL_SIZE - 1),
    maxBackoffMs: config.RETRY_MAX_BACKOFF_MS,
    // The lag read from the group's offsets is at most this much older than the applied events.
    offsetCommitIntervalMs: 500,
    logger,
    onApplyFailure: (error) => {
      metrics.applyFailures.inc();
      applying.failed(error);
    },
    lastAppliedOffset: (partition) => applying.track(lastAppliedOffset(leader, config.KAFKA_TOPIC, partition)),
    onGap: (gap) => {
      gaps.set(gap.partition, describeGap(gap));
      metrics.partitionGap.set({ partition: String(gap.partition) }, 1);
      logger.error({ partition: gap.partition }, `stopped consuming ${describeGap(gap)}`);
    },
    applySlice: apply,
  });

  async function apply(messages: IncomingMessage[]): Promise<void> {
    const started = performance.now();
    const outcome = await applyBatch({ ledger: { apply: store }, deadLetters: pipeline.deadLetters }, messages);
    applying.succeeded();
    const now = Date.now();
    metrics.consumed.inc(messages.length);
    metrics.applied.inc(outcome.applied.length);
    metrics.duplicates.inc(outcome.duplicates);
    metrics.deadLettered.inc(outcome.deadLettered.length);
    metrics.batchSize.observe(messages.length);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
    for (const event of outcome.applied) {
      metrics.endToEnd.observe((now - event.createdAt.getTime()) / 1000);
      // Sampled traces (the caller asked) at info, so one request can be followed across the services;
      // the line is built only when it will be written.
      const level = isSampled(event.traceparent) ? "info" : "debug";
      if (logger.isLevelEnabled(level)) {
        logger[level](
          { event_id: event.eventId, traceparent: event.traceparent, result: event.result },
          "event applied",
        );
      }
    }
    for (const letter of outcome.deadLettered) {
      logger.warn(
        { partition: letter.message.partition, offset: letter.message.offset, reason: letter.reason },
        "dead-lettered",
      );
    }
  }

  function store(events: SumEvent[], last: Pick<IncomingMessage, "partition" | "offset">) {
    return applyEvents(leader, events, { topic: config.KAFKA_TOPIC, partition: last.partition, offset: last.offset });
  }

  return {
    start: () => pipeline.start(),
    stop: () => pipeline.stop(),
    whyNotConsuming() {
      if (gaps.size > 0) return `stopped at a gap: ${[...gaps.values()].join("; ")}`;
      const refused = pipeline.refusedBatch();
      if (refused !== undefined) return refused;
      if (!pipeline.isJoined()) return "the consumer has not joined its group";
      return applying.failing();
    },
    lag: () => pipeline.lag(),
    hasGap: (partition) => gaps.has(partition),
  };
}
