// Over 200 lines: one consumer's state (membership, generation, the admin client) is shared by the
// rebalance listener, the batch handler and the lag reading; apart, each would take it as arguments.
import type { KafkaSasl } from "@sum/service-kit";
import { type Consumer, type EachBatchPayload, Kafka, logLevel, Partitioners } from "kafkajs";
import type { Logger } from "pino";
import type { DeadLetters } from "../../domain/apply-batch.js";
import type { IncomingMessage } from "../../domain/sum-event.js";
import type { AppliedPosition } from "../../persistence/totals-store.js";
import { kafkaDeadLetters } from "../dead-letters/dead-letter-producer.js";
import { BatchTooLargeError } from "./decompressed-size.js";
import { type DecodeLimits, readEveryKafkaCompression } from "./kafka-codecs.js";
import { OffsetCommits } from "./offset-commits.js";
import { persistently } from "./persistently.js";
import { recordDigest } from "./record-digest.js";

export interface ConsumerDeps {
  brokers: string[];
  /** The Kafka user to authenticate as; none on a PLAINTEXT listener without authentication. */
  sasl?: KafkaSasl | undefined;
  clientId: string;
  groupId: string;
  sessionTimeoutMs: number;
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
  /** The most bytes a fetch brings, and of one partition. */
  fetchMaxBytes: number;
  fetchMaxPartitionBytes: number;
  topic: string;
  dlqTopic: string;
  sliceSize: number;
  /** The most a compressed batch, and a fetch's together, may decompress to. */
  decodeLimits: DecodeLimits;
  /** Partitions applied at the same time, each on a leader connection of its own. */
  applyConcurrency: number;
  maxBackoffMs: number;
  /** The least time between two commits of the group's offsets. */
  offsetCommitIntervalMs: number;
  logger: Logger;
  /**
   * Applies one slice of a partition, its end recorded as the partition's position; resolves once it
   * is durable, or with "stopped" when nothing of it may be applied: the partition is paused there.
   */
  applySlice: (messages: IncomingMessage[]) => Promise<"applied" | "stopped">;
  /** Where the partition's consumption stands, as the database holds it; undefined before its first message. */
  appliedPosition: (partition: number) => Promise<AppliedPosition | undefined>;
  /** Moves the stored position to just before the new log's start; false if it had moved from `lastApplied`. */
  startAgainOnNewLog: (replaced: LogReplaced) => Promise<boolean>;
  /** Records were deleted from the partition before they were applied: it is paused, never skipped. */
  onGap: (gap: PartitionGap) => void;
  /** The partition's log was replaced: consumption starts again from the new log's start. */
  onLogReplaced: (replaced: LogReplaced) => void;
  /** The partition is consuming a replaced log's successor, not yet up to the end it had when found. */
  onCatchingUp: (partition: number, newLogEnd: bigint) => void;
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

export interface LogReplaced {
  topic: string;
  partition: number;
  /** The offset of the last message applied from the old log. */
  lastApplied: bigint;
  /** How the log was found to be another: its end, or the record at the last applied offset. */
  evidence: string;
  newLogStart: bigint;
  newLogEnd: bigint;
}

export function describeLogReplacement({
  topic,
  partition,
  lastApplied,
  evidence,
  newLogStart,
  newLogEnd,
}: LogReplaced): string {
  return (
    `the log of partition ${partition} of ${topic} was replaced: applied through offset ${lastApplied}, but ${evidence}; ` +
    `consuming the new log from its start (offset ${newLogStart}, ${newLogEnd - newLogStart} records when found)`
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
  readEveryKafkaCompression(deps.decodeLimits);
  const kafka = new Kafka({
    clientId: deps.clientId,
    brokers: deps.brokers,
    sasl: deps.sasl,
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
    maxBytes: deps.fetchMaxBytes,
    maxBytesPerPartition: deps.fetchMaxPartitionBytes,
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

  /** Per partition, the offset its next batch must start at: where its position was last set or checked. */
  const expectedNext = new Map<number, bigint>();
  const seekTo = (partition: number, offset: bigint) => {
    consumer.seek({ topic: deps.topic, partition, offset: offset.toString() });
    expectedNext.set(partition, offset);
  };
  const logBounds = async (partition: number) => {
    const offsets = await (await connectedAdmin()).fetchTopicOffsets(deps.topic);
    const bounds = offsets.find((p) => p.partition === partition);
    if (bounds === undefined) throw new Error(`no offsets for partition ${partition} of ${deps.topic}`);
    return { start: BigInt(bounds.low), end: BigInt(bounds.high) };
  };

  /**
   * The partition's log is not the one its position was stored for: the position moves to just
   * before the new log's start, loudly, and consumption starts there (event ids applied before are
   * skipped by id, not by offset).
   */
  const startAgain = async (partition: number, lastApplied: bigint, evidence: (end: bigint) => string) => {
    const log = await logBounds(partition);
    const replaced: LogReplaced = {
      topic: deps.topic,
      partition,
      lastApplied,
      evidence: evidence(log.end),
      newLogStart: log.start,
      newLogEnd: log.end,
    };
    if (!(await deps.startAgainOnNewLog(replaced))) {
      throw new Error(`partition ${partition}'s applied position moved while its log was checked; checking again`);
    }
    deps.onLogReplaced(replaced);
    if (log.end > log.start) deps.onCatchingUp(partition, log.end);
    seekTo(partition, log.start);
    offsetCommits.record(partition, log.start.toString());
  };

  /**
   * Sets a partition's position from the one stored with the total: right after its last applied
   * message, or on that message itself when it is still in the log, for the next batch to check that
   * the log is the same. A log that ends before the stored offset was replaced: consumption starts
   * again from its start. Records deleted after it before they were applied (a gap) pause the
   * partition, loudly. A partition never applied starts at the log's start.
   */
  const locate = async (partition: number) => {
    const stored = await deps.appliedPosition(partition);
    if (stored === undefined) {
      seekTo(partition, (await logBounds(partition)).start);
      return;
    }
    if (stored.replacedLogEnd !== null && stored.offset + 1n < stored.replacedLogEnd) {
      deps.onCatchingUp(partition, stored.replacedLogEnd);
    }
    const log = await logBounds(partition);
    if (log.end <= stored.offset) {
      await startAgain(partition, stored.offset, (end) => `the log now ends at offset ${end}`);
      return;
    }
    // The group's offset made true again, should it trail (a crash) or lead (a reset) the database.
    offsetCommits.record(partition, (stored.offset + 1n).toString());
    if (log.start > stored.offset + 1n) {
      consumer.pause([{ topic: deps.topic, partitions: [partition] }]);
      deps.onGap({ topic: deps.topic, partition, lastApplied: stored.offset, logStart: log.start });
    } else if (log.start === stored.offset + 1n || stored.digest === null) {
      // Nothing to check the log against: the record is gone (retention), or was applied before digests were kept.
      seekTo(partition, stored.offset + 1n);
    } else {
      seekTo(partition, stored.offset);
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
    expectedNext.clear();
    void persistently(
      async () => {
        for (const partition of partitions) await locate(partition);
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
      expectedNext.set(partition, BigInt(offset) + 1n);
      offsetCommits.record(partition, (BigInt(offset) + 1n).toString());
      // Stopping, or the partition may be reassigned: the offset goes now, while the group still has this member.
      if (!isRunning() || isStale()) await offsetCommits.flush();
      await heartbeat();
    };

    // Read for every batch: another instance may have applied the partition since, and kafkajs moves a
    // position on its own (to the log's start when it falls outside the log).
    const read = await persist("reading the applied position", () => deps.appliedPosition(partition));
    if (!read) return;
    const stored = read.result;
    const first = BigInt(batch.firstOffset() ?? batch.lastOffset());
    const expected = expectedNext.get(partition);
    const continues =
      expected === first && (stored === undefined || expected === stored.offset || expected === stored.offset + 1n);
    if (!continues) {
      await persist("positioning the partition from its applied position", () => locate(partition));
      return;
    }
    let fresh = batch.messages;
    if (stored !== undefined && first === stored.offset) {
      const [atStored] = batch.messages;
      const same =
        atStored !== undefined &&
        atStored.offset === stored.offset.toString() &&
        stored.digest !== null &&
        recordDigest(atStored).equals(stored.digest);
      if (!same) {
        await persist("starting again on the new log", () =>
          startAgain(
            partition,
            stored.offset,
            () => `the record at offset ${stored.offset} is not the one applied there`,
          ),
        );
        return;
      }
      fresh = batch.messages.slice(1);
    }

    const messages = fresh.map((message) => toIncoming(message, partition));
    if (messages.length === 0) {
      await commit(batch.lastOffset());
      return;
    }
    for (let start = 0; start < messages.length; start += deps.sliceSize) {
      const slice = messages.slice(start, start + deps.sliceSize);
      const applied = await persist("apply", () => deps.applySlice(slice));
      if (!applied) return;
      if (applied.result === "stopped") {
        consumer.pause([{ topic: deps.topic, partitions: [partition] }]);
        return;
      }
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
