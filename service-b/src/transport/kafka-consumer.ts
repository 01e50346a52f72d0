import {
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  logLevel,
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
  /** Applies one slice of a partition; resolves once it is durable. */
  applySlice: (messages: IncomingMessage[]) => Promise<void>;
  onApplyFailure: (error: unknown) => void;
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

/** The dead-letter topic: the original key, value and headers, plus why and where from. */
export function kafkaDeadLetters(producer: Producer, topic: string): DeadLetters {
  return {
    async send(letters: DeadLetter[]) {
      await producer.send({
        topic,
        acks: -1,
        messages: letters.map(({ message, reason }) => {
          const headers: IHeaders = { ...message.headers };
          headers["dlq-reason"] = reason;
          headers["dlq-source-partition"] = String(message.partition);
          headers["dlq-source-offset"] = message.offset;
          return { key: message.key, value: message.value, headers };
        }),
      });
    },
  };
}

export interface KafkaPipeline {
  consumer: Consumer;
  producer: Producer;
  isJoined(): boolean;
  /** Messages not yet committed by the group, per partition (end offset minus committed offset). */
  lag(): Promise<Map<number, number>>;
  start(): Promise<void>;
  /** Finishes the slice in hand, commits, leaves the group. */
  stop(): Promise<void>;
}

/**
 * The consumer: offsets are committed by hand, only after the slice they cover is applied, so the
 * database is never behind a committed offset. While the database refuses, the slice is retried
 * with backoff and heartbeats keep the membership; a slice made stale by a rebalance is dropped
 * uncommitted, for its new owner to apply (the ids make that harmless).
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
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  consumer.on(consumer.events.CRASH, () => {
    joined = false;
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });

  const eachBatch = async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload) => {
    const messages = batch.messages.map((message) => toIncoming(message, batch.partition));
    for (let start = 0; start < messages.length; start += deps.sliceSize) {
      const slice = messages.slice(start, start + deps.sliceSize);
      let backoff = 100;
      for (;;) {
        if (!isRunning() || isStale()) return;
        try {
          await deps.applySlice(slice);
          break;
        } catch (error) {
          deps.onApplyFailure(error);
          deps.logger.warn({ err: error, partition: batch.partition, backoffMs: backoff }, "apply failed; retrying");
          await heartbeat().catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, backoff));
          backoff = Math.min(backoff * 2, deps.maxBackoffMs);
        }
      }
      const last = slice[slice.length - 1] as IncomingMessage;
      resolveOffset(last.offset);
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
      await heartbeat();
    }
  };

  const admin = kafka.admin();
  let adminConnected: Promise<void> | undefined;

  return {
    consumer,
    producer,
    isJoined: () => joined,
    async lag() {
      // A failed connect is forgotten, so the next call tries again instead of failing until a restart.
      adminConnected ??= admin.connect().catch((error: unknown) => {
        adminConnected = undefined;
        throw error;
      });
      await adminConnected;
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(deps.topic),
        admin.fetchOffsets({ groupId: deps.groupId, topics: [deps.topic] }),
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
