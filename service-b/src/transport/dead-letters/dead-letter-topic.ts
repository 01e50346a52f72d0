import { DEAD_LETTER_HEADERS, DEAD_LETTER_REPLAYED_HEADER } from "@sum/contract";
import type { IHeaders, Kafka, KafkaMessage } from "kafkajs";
import { apart } from "./dead-letter-headers.js";

/** Where a dead letter's original was read. */
export interface SourceMessage {
  topic: string;
  partition: number;
  offset: string;
}

/** One dead letter of the dead-letter topic, its pipeline headers (DEAD_LETTER_HEADERS) read apart from the original's. */
export interface StoredDeadLetter {
  dlqPartition: number;
  dlqOffset: string;
  /** With the partition and offset, what identifies a letter written twice, and a replayed one. */
  source: SourceMessage;
  reason: string;
  /** Cut short because the whole was too large to write; `originalSize` is its value's size. */
  truncated: boolean;
  originalSize: number | undefined;
  key: Buffer | null;
  value: Buffer | null;
  /** The original message's headers, under their own names, byte for byte. */
  headers: IHeaders;
}

/** What the dead-letter topic holds: the letters, and when each source message was replayed (by `sourceKey`). */
export interface DeadLetterTopic {
  letters: StoredDeadLetter[];
  replayedAt: Map<string, string>;
}

export const sourceKey = ({ topic, partition, offset }: SourceMessage): string =>
  JSON.stringify([topic, partition, offset]);

function sourceOf(pipeline: Map<string, string>): SourceMessage {
  return {
    topic: pipeline.get(DEAD_LETTER_HEADERS.sourceTopic) ?? "",
    partition: Number(pipeline.get(DEAD_LETTER_HEADERS.sourcePartition)),
    offset: pipeline.get(DEAD_LETTER_HEADERS.sourceOffset) ?? "",
  };
}

/** Every record on `topic` now (up to its end when called), in order per partition; read by a group of its own, deleted after. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  timeoutMs = 60_000,
): Promise<Array<{ partition: number; message: KafkaMessage }>> {
  const admin = kafka.admin();
  const groupId = `dead-letters-reader-${crypto.randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  const records: Array<{ partition: number; message: KafkaMessage }> = [];
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const lastOffsets = new Map(
      ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]),
    );
    if (lastOffsets.size === 0) return records;
    const unread = new Set(lastOffsets.keys());
    let allRead: () => void = () => undefined;
    const read = new Promise<void>((resolve) => {
      allRead = resolve;
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const last = lastOffsets.get(partition) ?? -1n;
        if (BigInt(message.offset) > last) return;
        records.push({ partition, message });
        if (BigInt(message.offset) === last) unread.delete(partition);
        if (unread.size === 0) allRead();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${topic} was not read to its end in ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([read, timedOut]).finally(() => clearTimeout(timer));
    return records;
  } finally {
    await consumer.disconnect();
    // The group exists only if it joined; nothing to delete otherwise.
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** The dead letters on `topic` now, in order per partition, and the records of their replays. */
export async function readDeadLetters(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<DeadLetterTopic> {
  const letters: StoredDeadLetter[] = [];
  const replayedAt = new Map<string, string>();
  for (const { partition, message } of await readTopic(kafka, topic, timeoutMs)) {
    const { pipeline, original } = apart(message.headers ?? {});
    const replayed = pipeline.get(DEAD_LETTER_REPLAYED_HEADER);
    // As replayDeadLetters writes it: no key, no value (a letter written before dlq-* headers were
    // the pipeline's alone may carry its own dlq-replayed, and a key or value).
    if (replayed !== undefined && message.key === null && message.value === null) {
      replayedAt.set(sourceKey(sourceOf(pipeline)), replayed);
      continue;
    }
    const originalSize = pipeline.get(DEAD_LETTER_HEADERS.originalSize);
    letters.push({
      dlqPartition: partition,
      dlqOffset: message.offset,
      source: sourceOf(pipeline),
      reason: pipeline.get(DEAD_LETTER_HEADERS.reason) ?? "",
      truncated: pipeline.get(DEAD_LETTER_HEADERS.truncated) === "true",
      originalSize: originalSize === undefined ? undefined : Number(originalSize),
      key: message.key,
      value: message.value,
      headers: original,
    });
  }
  return { letters, replayedAt };
}

export interface Replay {
  sent: StoredDeadLetter[];
  /** Replayed before (the time it was): not sent again. */
  alreadyReplayed: Array<{ letter: StoredDeadLetter; at: string }>;
  /** Not sent: the whole is only on the source topic, at the source offset, while Kafka keeps it. */
  truncated: StoredDeadLetter[];
  /** Not sent: read from another topic than the one replayed to. */
  otherSource: StoredDeadLetter[];
}

/**
 * Sends the originals of `chosen` (key, value and original headers) to `to.topic`, the one topic
 * replayed to whatever a letter says, each source message once ever: after each send, a record of
 * the replay (DEAD_LETTER_REPLAYED_HEADER and the letter's source) goes to `to.dlqTopic`, and a
 * letter so recorded is not sent again. At least once: a crash between the two sends that letter
 * again on the next replay, which Service B applies once (its event id, within
 * PROCESSED_RETENTION_DAYS); the records keep every later replay from sending it again.
 */
export async function replayDeadLetters(
  kafka: Kafka,
  topic: DeadLetterTopic,
  chosen: StoredDeadLetter[],
  to: { topic: string; dlqTopic: string },
): Promise<Replay> {
  const replay: Replay = { sent: [], alreadyReplayed: [], truncated: [], otherSource: [] };
  const seen = new Set<string>();
  const unsent: StoredDeadLetter[] = [];
  for (const letter of chosen) {
    const source = sourceKey(letter.source);
    if (seen.has(source)) continue;
    seen.add(source);
    const at = topic.replayedAt.get(source);
    if (letter.source.topic !== to.topic) replay.otherSource.push(letter);
    else if (at !== undefined) replay.alreadyReplayed.push({ letter, at });
    else if (letter.truncated) replay.truncated.push(letter);
    else unsent.push(letter);
  }
  if (unsent.length === 0) return replay;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const letter of unsent) {
      await producer.send({
        topic: to.topic,
        acks: -1,
        messages: [{ key: letter.key, value: letter.value, headers: letter.headers }],
      });
      replay.sent.push(letter);
      await producer.send({
        topic: to.dlqTopic,
        acks: -1,
        messages: [
          {
            key: null,
            value: null,
            headers: {
              [DEAD_LETTER_REPLAYED_HEADER]: new Date().toISOString(),
              [DEAD_LETTER_HEADERS.sourceTopic]: letter.source.topic,
              [DEAD_LETTER_HEADERS.sourcePartition]: String(letter.source.partition),
              [DEAD_LETTER_HEADERS.sourceOffset]: letter.source.offset,
            },
          },
        ],
      });
    }
  } finally {
    await producer.disconnect();
  }
  return replay;
}
