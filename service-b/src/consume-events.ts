import type { Tracer } from "@opentelemetry/api";
import { isSampled } from "@sum/contract";
import { FailureStreak, kafkaSasl } from "@sum/service-kit";
import type pg from "pg";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { applyBatch, type TooOld } from "./domain/apply-batch.js";
import type { IncomingMessage } from "./domain/sum-event.js";
import type { ServiceMetrics } from "./metrics.js";
import { totalsLedger } from "./persistence/ledger.js";
import { appliedPosition, startAgainOnNewLog } from "./persistence/totals-store.js";
import { deadLetterProducer } from "./transport/dead-letters/dead-letter-producer.js";
import { kafkaClient } from "./transport/kafka/kafka-client.js";
import { readEveryKafkaCompression } from "./transport/kafka/kafka-codecs.js";
import { kafkaPipeline } from "./transport/kafka/kafka-consumer.js";
import { describeGap, describeLogReplacement } from "./transport/kafka/partition-positions.js";

export interface EventConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Why events are not being consumed and applied, or undefined while they are. */
  whyNotConsuming(): string | undefined;
  /** Messages not yet consumed, per partition. */
  lag(): Promise<Map<number, number>>;
  /** Whether the partition is stopped at records deleted before they were applied. */
  hasGap(partition: number): boolean;
  /** Whether the partition is stopped at an event older than the window applied ids are remembered for. */
  hasTooOldEvent(partition: number): boolean;
}

type ConsumeConfig = Pick<
  Config,
  | "KAFKA_BROKERS"
  | "KAFKA_SASL_MECHANISM"
  | "KAFKA_SASL_USERNAME"
  | "KAFKA_SASL_PASSWORD"
  | "SERVICE_ID"
  | "KAFKA_GROUP_ID"
  | "KAFKA_SESSION_TIMEOUT_MS"
  | "FETCH_MIN_BYTES"
  | "FETCH_MAX_WAIT_MS"
  | "FETCH_MAX_BYTES"
  | "FETCH_MAX_PARTITION_BYTES"
  | "KAFKA_TOPIC"
  | "KAFKA_DLQ_TOPIC"
  | "APPLY_SLICE_SIZE"
  | "MAX_DECOMPRESSED_BATCH_BYTES"
  | "MAX_BATCH_RECORDS"
  | "DB_POOL_SIZE"
  | "RETRY_MAX_BACKOFF_MS"
  | "PROCESSED_RETENTION_DAYS"
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
  /** Records nothing when tracing is off. */
  tracer: Tracer;
}): EventConsumer {
  const { config, leader, metrics, logger, tracer } = deps;
  /** Partitions stopped because records were deleted before they were applied: why, by partition. */
  const gaps = new Map<number, string>();
  /** Partitions stopped at an event older than the window applied ids are remembered for: why, by partition. */
  const tooOld = new Map<number, string>();
  /** Partitions consuming a replaced log's successor: the end offset it had when found, by partition. */
  const catchingUp = new Map<number, bigint>();
  // How the apply path fares on the leader (its reads of stored positions, its slices), for readiness.
  const applying = new FailureStreak("applying events");

  readEveryKafkaCompression({ maxBytes: config.MAX_DECOMPRESSED_BATCH_BYTES, maxRecords: config.MAX_BATCH_RECORDS });
  const kafka = kafkaClient({
    brokers: config.KAFKA_BROKERS,
    sasl: kafkaSasl(config),
    clientId: config.SERVICE_ID,
    logger,
  });
  const deadLetters = deadLetterProducer(kafka, {
    topic: config.KAFKA_DLQ_TOPIC,
    sourceTopic: config.KAFKA_TOPIC,
    tracer,
  });
  const ledger = totalsLedger({ leader, topic: config.KAFKA_TOPIC, tracer });
  const pipeline = kafkaPipeline({
    kafka,
    consumer: {
      groupId: config.KAFKA_GROUP_ID,
      sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: Math.min(3000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 3)),
      minBytes: config.FETCH_MIN_BYTES,
      maxWaitTimeInMs: config.FETCH_MAX_WAIT_MS,
      maxBytes: config.FETCH_MAX_BYTES,
      maxBytesPerPartition: config.FETCH_MAX_PARTITION_BYTES,
    },
    topic: config.KAFKA_TOPIC,
    sliceSize: config.APPLY_SLICE_SIZE,
    // Each partition has its own row (totals-store.ts), so slices of different partitions commit side
    // by side; one connection stays free for reads, pruning and the lag probes.
    applyConcurrency: Math.max(1, config.DB_POOL_SIZE - 1),
    maxBackoffMs: config.RETRY_MAX_BACKOFF_MS,
    // The lag read from the group's offsets is at most this much older than the applied events.
    offsetCommitIntervalMs: 500,
    logger,
    applySlice: apply,
    onApplyFailure: (error) => {
      metrics.applyFailures.inc();
      applying.failed(error);
    },
    positions: {
      appliedPosition: (partition) => applying.track(appliedPosition(leader, config.KAFKA_TOPIC, partition)),
      startAgainOnNewLog: (replaced) => startAgainOnNewLog(leader, { ...replaced, from: replaced.lastApplied }),
      onGap: (gap) => {
        gaps.set(gap.partition, describeGap(gap));
        metrics.partitionGap.set({ partition: String(gap.partition) }, 1);
        logger.error({ partition: gap.partition }, `stopped consuming ${describeGap(gap)}`);
      },
      onLogReplaced: (replaced) =>
        logger.error(
          { partition: replaced.partition, lastApplied: String(replaced.lastApplied) },
          `${describeLogReplacement(replaced)}; events acknowledged before the replacement and not yet applied are not in the new log`,
        ),
      onCatchingUp: (partition, newLogEnd) => catchingUp.set(partition, newLogEnd),
    },
  });

  const describeTooOld = ({ message, event }: TooOld) =>
    `partition ${message.partition} of ${config.KAFKA_TOPIC} stopped at offset ${message.offset}: event ${event.eventId} ` +
    `was created at ${event.createdAt.toISOString()}, more than PROCESSED_RETENTION_DAYS (${config.PROCESSED_RETENTION_DAYS}) ` +
    "days ago, so whether it was applied before can no longer be told (a redelivery after its id was pruned would count it " +
    "twice); nothing from that offset on is applied until PROCESSED_RETENTION_DAYS is raised past its age";

  async function apply(messages: IncomingMessage[]): Promise<"applied" | "stopped"> {
    const started = performance.now();
    const rememberedSince = new Date(Date.now() - config.PROCESSED_RETENTION_DAYS * 86_400_000);
    const outcome = await applyBatch({ ledger, deadLetters, rememberedSince }, messages);
    applying.succeeded();
    if (outcome.tooOld) {
      const why = describeTooOld(outcome.tooOld);
      tooOld.set(outcome.tooOld.message.partition, why);
      metrics.partitionTooOldEvent.set({ partition: String(outcome.tooOld.message.partition) }, 1);
      logger.error({ partition: outcome.tooOld.message.partition, event_id: outcome.tooOld.event.eventId }, why);
      return "stopped";
    }
    // Stored through the end a replaced log's successor had when found: caught up with it.
    const last = messages[messages.length - 1] as IncomingMessage;
    const newLogEnd = catchingUp.get(last.partition);
    if (newLogEnd !== undefined && BigInt(last.offset) + 1n >= newLogEnd) catchingUp.delete(last.partition);
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
    return "applied";
  }

  return {
    async start() {
      await deadLetters.connect();
      await pipeline.start();
    },
    async stop() {
      await pipeline.stop();
      await deadLetters.disconnect();
    },
    whyNotConsuming() {
      if (gaps.size > 0) return `stopped at a gap: ${[...gaps.values()].join("; ")}`;
      if (tooOld.size > 0) return [...tooOld.values()].join("; ");
      if (catchingUp.size > 0) {
        const partitions = [...catchingUp].map(([partition, end]) => `partition ${partition} (to offset ${end})`);
        return `catching up with a replaced log of ${config.KAFKA_TOPIC}: ${partitions.join(", ")}`;
      }
      const refused = pipeline.refusedBatch();
      if (refused !== undefined) return refused;
      if (!pipeline.isJoined()) return "the consumer has not joined its group";
      return applying.failing();
    },
    lag: () => pipeline.lag(),
    hasGap: (partition) => gaps.has(partition),
    hasTooOldEvent: (partition) => tooOld.has(partition),
  };
}
