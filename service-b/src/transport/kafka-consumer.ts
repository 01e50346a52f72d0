// Over 200 lines: one consumer's state (membership, generation, the admin client) is shared by the
// rebalance listener, the batch handler and the lag reading; apart, each would take it as arguments.
import { type Consumer, type EachBatchPayload, Kafka, logLevel, Partitioners } from "kafkajs";
import type { Logger } from "pino";
import type { DeadLetters } from "../domain/apply-batch.js";
import type { IncomingMessage } from "../domain/sum-event.js";
import { kafkaDeadLetters } from "./dead-letter-producer.js";
import { BatchTooLargeError } from "./decompressed-size.js";
import { readEveryKafkaCompression } from "./kafka-codecs.js";
import { OffsetCommits } from "./offset-commits.js";
import { persistently } from "./persistently.js";

export interface ConsumerDeps {
  brokers: string[];
  clientId: string;
  groupId: string;
  sessionTimeoutMs: number;
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
  topic: string;
  dlqTopic: string;
  sliceSize: number;
  /** The most bytes a compressed batch may decompress to. */
  maxBatchBytes: number;
  /** Partitions applied at the same time, each on a leader connection of its own. */
  applyConcurrency: number;
  maxBackoffMs: number;
  /** The least time between two commits of the group's offsets. */
  offsetCommitIntervalMs: number;
  logger: Logger;
  /** Applies one slice of a partition, its end recorded as the partition's position; resolves once it is durable. */
  applySlice: (messages: IncomingMessage[]) => Promise<void>;
  /** The offset of the partition's last message applied, as the database holds it; undefined before the first. */
  lastAppliedOffset: (partition: number) => Promise<bigint | undefined>;
  /** Records were deleted from the partition before they were applied: it is paused, never skipped. */
  onGap: (gap: PartitionGap) => void;
  onApplyFailure: (error: unknown) => void;
}

export interface PartitionGap {
  topic: string;
  partition: number;
  /** The offset of the last message applied. */
  lastApplied: bigint;
  /** The partition's first offset still in the log, past the next one to apply. */
  logStart: bigint;
}

export function describeGap({ topic, partition, lastApplied, logStart }: PartitionGap): string {
  return (
    `partition ${partition} of ${topic}: applied through offset ${lastApplied}, but the log starts at ${logStart} ` +
    `(offsets ${lastApplied + 1n} to ${logStart - 1n} were deleted before they were applied)`
  );
}

// kafkajs logs every retried request failure as ERROR; what is not retried surfaces as a crash.
const KAFKAJS_LEVEL: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "warn",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

function toIncoming(message: EachBatchPayload["batch"]["messages"][number], partition: number): IncomingMessage {
  const headers: IncomingMessage["headers"] = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    headers[name] = Array.isArray(value) ? value[0] : value;
  }
  return { partition, offset: message.offset, key: message.key, value: message.value, headers };
}

export interface KafkaPipeline {
  consumer: Consumer;
  deadLetters: DeadLetters;
  isJoined(): boolean;
  /** Why the last fetch was refused (a batch past the decompression limit), until a batch arrives again. */
  refusedBatch(): string | undefined;
  /** Messages not yet committed by the group, per partition (end offset minus committed offset). */
  lag(): Promise<Map<number, number>>;
  start(): Promise<void>;
  /** Finishes the slice in hand, commits, leaves the group. */
  stop(): Promise<void>;
}

/**
 * The consumer: each partition resumes after the last offset the database holds as applied (written
 * with the total), whatever the group's committed offset says: messages at or before it are skipped,
 * a position past it is sought back, and records deleted before they were applied (a gap) pause the
 * partition, loudly. Group offsets are still committed, trailing the applied slices by at most an
 * interval, as a hint and for the lag. While the database refuses, the slice is retried with backoff
 * and heartbeats keep the membership; a slice made stale by a rebalance is dropped uncommitted, for
 * its new owner to apply.
 */
export function kafkaPipeline(deps: ConsumerDeps): KafkaPipeline {
  readEveryKafkaCompression(deps.maxBatchBytes);
  const kafka = new Kafka({
    clientId: deps.clientId,
    brokers: deps.brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        deps.logger[KAFKAJS_LEVEL[level] ?? "info"]({ kafkajs: extra }, message);
      },
  });
  const consumer = kafka.consumer({
    groupId: deps.groupId,
    sessionTimeout: deps.sessionTimeoutMs,
    heartbeatInterval: Math.min(3000, Math.floor(deps.sessionTimeoutMs / 3)),
    minBytes: deps.fetchMinBytes,
    maxWaitTimeInMs: deps.fetchMaxWaitMs,
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const offsetCommits = new OffsetCommits(
    (offsets) => consumer.commitOffsets(offsets.map((o) => ({ topic: deps.topic, ...o }))),
    deps.offsetCommitIntervalMs,
    (error) => deps.logger.warn({ err: error }, "committing the group's offsets failed; they go with the next commit"),
  );
  const admin = kafka.admin();
  let adminConnected: Promise<void> | undefined;
  /** The admin client, connected on first use; a failed connect is forgotten, so the next use tries again. */
  const connectedAdmin = async () => {
    adminConnected ??= admin.connect().catch((error: unknown) => {
      adminConnected = undefined;
      throw error;
    });
    await adminConnected;
    return admin;
  };

  /**
   * Sets a partition to resume right after its last applied offset; or, if records after it were
   * deleted before they were applied, pauses it and reports the gap.
   */
  const resumeAfter = async (partition: number, lastApplied: bigint) => {
    const offsets = await (await connectedAdmin()).fetchTopicOffsets(deps.topic);
    const low = offsets.find((p) => p.partition === partition)?.low;
    if (low === undefined) throw new Error(`no offsets for partition ${partition} of ${deps.topic}`);
    const logStart = BigInt(low);
    if (logStart > lastApplied + 1n) {
      consumer.pause([{ topic: deps.topic, partitions: [partition] }]);
      deps.onGap({ topic: deps.topic, partition, lastApplied, logStart });
    } else {
      consumer.seek({ topic: deps.topic, partition, offset: (lastApplied + 1n).toString() });
    }
  };

  let joined = false;
  let generation = 0;
  // On each assignment, the partitions resume where the database says, not where the group's offset does.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    const current = ++generation;
    const partitions = payload.memberAssignment[deps.topic] ?? [];
    offsetCommits.keepOnly(partitions);
    void persistently(
      async () => {
        for (const partition of partitions) {
          const lastApplied = await deps.lastAppliedOffset(partition);
          if (lastApplied === undefined) continue;
          await resumeAfter(partition, lastApplied);
          // The group's offset made true again, should it trail (a crash) or lead (a reset) the database.
          offsetCommits.record(partition, (lastApplied + 1n).toString());
        }
      },
      {
        maxBackoffMs: deps.maxBackoffMs,
        wanted: () => joined && current === generation,
        onFailure: (error, backoffMs) =>
          deps.logger.warn({ err: error, backoffMs }, "resuming from the stored offsets failed; retrying"),
      },
    );
  });
  let refused: string | undefined;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    // kafkajs keeps the codec's error as the cause of its own; it restarts the consumer, which
    // fetches the same batch again and is refused again, each time at the limit's cost at most.
    for (let error: unknown = payload.error; error instanceof Error; error = error.cause) {
      if (error instanceof BatchTooLargeError) {
        refused = error.message;
        deps.logger.error({ err: error }, "refused a Kafka batch; nothing after it is consumed");
      }
    }
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });

  const eachBatch = async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload) => {
    const { partition } = batch;
    refused = undefined;
    const persist = <T>(what: string, step: () => Promise<T>) =>
      persistently(step, {
        maxBackoffMs: deps.maxBackoffMs,
        wanted: () => isRunning() && !isStale(),
        onFailure: async (error, backoffMs) => {
          deps.onApplyFailure(error);
          deps.logger.warn({ err: error, partition, backoffMs }, `${what} failed; retrying`);
          await heartbeat().catch(() => undefined);
        },
      });
    const commit = async (offset: string) => {
      resolveOffset(offset);
      offsetCommits.record(partition, (BigInt(offset) + 1n).toString());
      // Stopping, or the partition may be reassigned: the offset goes now, while the group still has this member.
      if (!isRunning() || isStale()) await offsetCommits.flush();
      await heartbeat();
    };

    // Checked again here: a position set at assignment may not have landed yet, and retention may
    // delete records while the partition lags.
    const stored = await persist("reading the last applied offset", () => deps.lastAppliedOffset(partition));
    if (!stored) return;
    const lastApplied = stored.result;
    if (lastApplied !== undefined && BigInt(batch.firstOffset() ?? batch.lastOffset()) > lastApplied + 1n) {
      await persist("resuming after the last applied offset", () => resumeAfter(partition, lastApplied));
      return;
    }

    const messages = batch.messages
      .filter((message) => lastApplied === undefined || BigInt(message.offset) > lastApplied)
      .map((message) => toIncoming(message, partition));
    const skipped = batch.messages.length - messages.length;
    if (skipped > 0) {
      deps.logger.info({ partition, skipped, lastApplied: String(lastApplied) }, "skipping messages applied before");
    }
    if (messages.length === 0) {
      await commit(batch.lastOffset());
      return;
    }
    for (let start = 0; start < messages.length; start += deps.sliceSize) {
      const slice = messages.slice(start, start + deps.sliceSize);
      if (!(await persist("apply", () => deps.applySlice(slice)))) return;
      await commit((slice[slice.length - 1] as IncomingMessage).offset);
    }
  };

  return {
    consumer,
    deadLetters: kafkaDeadLetters(producer, deps.dlqTopic, deps.topic),
    isJoined: () => joined,
    refusedBatch: () => refused,
    async lag() {
      const client = await connectedAdmin();
      const [ends, [committed]] = await Promise.all([
        client.fetchTopicOffsets(deps.topic),
        client.fetchOffsets({ groupId: deps.groupId, topics: [deps.topic] }),
      ]);
      const committedBy = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      return new Map(
        ends.map((end) => {
          const done = committedBy.get(end.partition) ?? -1n;
          const from = done >= 0n ? done : BigInt(end.low);
          return [end.partition, Number(BigInt(end.high) - from)];
        }),
      );
    },
    async start() {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: deps.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: deps.applyConcurrency,
        eachBatch,
      });
    },
    async stop() {
      await offsetCommits.flush();
      await consumer.disconnect();
      offsetCommits.close();
      await producer.disconnect();
      if (adminConnected) await admin.disconnect();
    },
  };
}
