import {
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
} from "kafkajs";
import type { Logger } from "pino";
import type { DeadLetter, DeadLetters } from "../domain/apply-batch.js";
import type { IncomingMessage } from "../domain/sum-event.js";

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
  maxBackoffMs: number;
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

/** Most bytes of dead letters in one write: half the broker's default limit for a batch (1 MiB). */
const MAX_WRITE_BYTES = 512 * 1024;
/** What is kept of the key and of the value of a dead letter too large to write whole. */
const TRUNCATED_BYTES = 1024;

function bytes(message: IncomingMessage): number {
  let size = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (const [name, value] of Object.entries(message.headers)) size += name.length + (value?.length ?? 0);
  return size;
}

/** Whether the broker refused a write as too large (kafkajs wraps its protocol errors in others). */
function isTooLarge(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const type = (cause as { type?: unknown }).type;
    if (type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE") return true;
  }
  return false;
}

/** Consecutive runs of letters of at most MAX_WRITE_BYTES each (a larger letter alone). */
function chunks(letters: DeadLetter[]): DeadLetter[][] {
  const runs: DeadLetter[][] = [];
  let run: DeadLetter[] = [];
  let runBytes = 0;
  for (const letter of letters) {
    const size = bytes(letter.message);
    if (run.length > 0 && runBytes + size > MAX_WRITE_BYTES) {
      runs.push(run);
      run = [];
      runBytes = 0;
    }
    run.push(letter);
    runBytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * The dead-letter topic: the original key, value and headers, plus why and where from
 * (dlq-source-topic, -partition and -offset, which also identify a letter written twice). Letters
 * go in writes of at most MAX_WRITE_BYTES; a write the broker finds too large is split, and a single
 * letter it refuses is written cut short (dlq-truncated, dlq-original-size: the value's size), so
 * poison never blocks a partition. What this process has written is not written again on a retry.
 */
export function kafkaDeadLetters(producer: Producer, topic: string, sourceTopic: string): DeadLetters {
  const dlqHeaders = ({ message, reason }: DeadLetter): IHeaders => ({
    "dlq-reason": reason,
    "dlq-source-topic": sourceTopic,
    "dlq-source-partition": String(message.partition),
    "dlq-source-offset": message.offset,
  });
  const whole = (letter: DeadLetter): Message => ({
    key: letter.message.key,
    value: letter.message.value,
    headers: { ...letter.message.headers, ...dlqHeaders(letter) },
  });
  // Only the dlq headers: the source partition and offset point at all of it, while Kafka keeps it.
  const truncated = (letter: DeadLetter): Message => ({
    key: letter.message.key?.subarray(0, TRUNCATED_BYTES) ?? null,
    value: letter.message.value?.subarray(0, TRUNCATED_BYTES) ?? null,
    headers: {
      ...dlqHeaders(letter),
      "dlq-truncated": "true",
      "dlq-original-size": String(letter.message.value?.length ?? 0),
    },
  });

  /** The offset of the last letter written, by source partition. */
  const written = new Map<number, bigint>();
  const write = async (letters: DeadLetter[]): Promise<void> => {
    try {
      await producer.send({ topic, acks: -1, messages: letters.map(whole) });
    } catch (error) {
      if (!isTooLarge(error)) throw error;
      if (letters.length > 1) {
        const half = Math.ceil(letters.length / 2);
        await write(letters.slice(0, half));
        await write(letters.slice(half));
        return;
      }
      await producer.send({ topic, acks: -1, messages: letters.map(truncated) });
    }
    const last = (letters[letters.length - 1] as DeadLetter).message;
    written.set(last.partition, BigInt(last.offset));
  };

  return {
    async send(letters: DeadLetter[]) {
      const unwritten = letters.filter(
        ({ message }) => BigInt(message.offset) > (written.get(message.partition) ?? -1n),
      );
      for (const chunk of chunks(unwritten)) await write(chunk);
    },
  };
}

/** Runs `step` until it succeeds, backing off up to `maxBackoffMs`; undefined once it is no longer wanted. */
async function persistently<T>(
  step: () => Promise<T>,
  options: {
    maxBackoffMs: number;
    wanted: () => boolean;
    onFailure: (error: unknown, backoffMs: number) => unknown;
  },
): Promise<{ result: T } | undefined> {
  let backoffMs = 100;
  for (;;) {
    if (!options.wanted()) return undefined;
    try {
      return { result: await step() };
    } catch (error) {
      await options.onFailure(error, backoffMs);
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, options.maxBackoffMs);
    }
  }
}

export interface KafkaPipeline {
  consumer: Consumer;
  deadLetters: DeadLetters;
  isJoined(): boolean;
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
 * partition, loudly. Group offsets are still committed after each applied slice, as a hint and for
 * the lag. While the database refuses, the slice is retried with backoff and heartbeats keep the
 * membership; a slice made stale by a rebalance is dropped uncommitted, for its new owner to apply.
 */
export function kafkaPipeline(deps: ConsumerDeps): KafkaPipeline {
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
    void persistently(
      async () => {
        for (const partition of partitions) {
          const lastApplied = await deps.lastAppliedOffset(partition);
          if (lastApplied !== undefined) await resumeAfter(partition, lastApplied);
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
  consumer.on(consumer.events.CRASH, () => {
    joined = false;
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });

  const eachBatch = async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload) => {
    const { topic, partition } = batch;
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
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(offset) + 1n).toString() }]);
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
        partitionsConsumedConcurrently: 1,
        eachBatch,
      });
    },
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
      if (adminConnected) await admin.disconnect();
    },
  };
}
