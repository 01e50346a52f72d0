import type { ConsumerConfig, EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "pino";
import type { IncomingMessage } from "../../domain/sum-event.js";
import { BatchTooLargeError } from "./decompressed-size.js";
import { OffsetCommits } from "./offset-commits.js";
import { type PositionStore, partitionPositions } from "./partition-positions.js";
import { persistently } from "./persistently.js";

export interface ConsumerDeps {
  /** The client, built where the pipeline is wired (consume-events.ts), with the dead-letter producer. */
  kafka: Kafka;
  /** The group and its fetches, as kafkajs takes them. */
  consumer: ConsumerConfig;
  topic: string;
  sliceSize: number;
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
  onApplyFailure: (error: unknown) => void;
  /** Where each partition resumes from (partition-positions.ts). */
  positions: PositionStore;
}

function toIncoming(message: EachBatchPayload["batch"]["messages"][number], partition: number): IncomingMessage {
  const headers: IncomingMessage["headers"] = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    headers[name] = Array.isArray(value) ? value[0] : value;
  }
  return { partition, offset: message.offset, key: message.key, value: message.value, headers };
}

export interface KafkaPipeline {
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
 * The consumer: each partition resumes after the last offset the database holds as applied
 * (partition-positions.ts). Group offsets are still committed, trailing the applied slices by at most
 * an interval, as a hint and for the lag. While the database refuses, the slice is retried with
 * backoff and heartbeats keep the membership; a slice made stale by a rebalance is dropped
 * uncommitted, for its new owner to apply.
 */
export function kafkaPipeline(deps: ConsumerDeps): KafkaPipeline {
  const consumer = deps.kafka.consumer(deps.consumer);
  const offsetCommits = new OffsetCommits(
    (offsets) => consumer.commitOffsets(offsets.map((o) => ({ topic: deps.topic, ...o }))),
    deps.offsetCommitIntervalMs,
    (error) => deps.logger.warn({ err: error }, "committing the group's offsets failed; they go with the next commit"),
  );
  const admin = deps.kafka.admin();
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
  const positions = partitionPositions({
    consumer,
    admin: connectedAdmin,
    topic: deps.topic,
    offsetCommits,
    store: deps.positions,
  });

  let joined = false;
  let generation = 0;
  // On each assignment, the partitions resume where the database says, not where the group's offset does.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    const current = ++generation;
    const partitions = payload.memberAssignment[deps.topic] ?? [];
    offsetCommits.keepOnly(partitions);
    positions.forgetAll();
    void persistently(
      async () => {
        for (const partition of partitions) await positions.locate(partition);
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
      positions.appliedThrough(partition, offset);
      offsetCommits.record(partition, (BigInt(offset) + 1n).toString());
      // Stopping, or the partition may be reassigned: the offset goes now, while the group still has this member.
      if (!isRunning() || isStale()) await offsetCommits.flush();
      await heartbeat();
    };

    const fresh = await positions.unapplied(batch, persist);
    if (fresh === undefined) return;
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
    isJoined: () => joined,
    refusedBatch: () => refused,
    async lag() {
      const client = await connectedAdmin();
      const [ends, [committed]] = await Promise.all([
        client.fetchTopicOffsets(deps.topic),
        client.fetchOffsets({ groupId: deps.consumer.groupId, topics: [deps.topic] }),
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
      if (adminConnected) await admin.disconnect();
    },
  };
}
