import { DEAD_LETTER_HEADERS } from "@sum/contract";
import type { IHeaders, Kafka } from "kafkajs";

const DEAD_LETTER_HEADER_NAMES: string[] = Object.values(DEAD_LETTER_HEADERS);

/** One record of the dead-letter topic, its own headers (DEAD_LETTER_HEADERS) read apart from the original's. */
export interface StoredDeadLetter {
  dlqPartition: number;
  dlqOffset: string;
  /** Where the poison was read: with the partition and offset, what identifies a letter written twice. */
  source: { topic: string; partition: number; offset: string };
  reason: string;
  /** Cut short because the whole was too large to write; `originalSize` is its value's size. */
  truncated: boolean;
  originalSize: number | undefined;
  key: Buffer | null;
  value: Buffer | null;
  /** The original message's headers. */
  headers: Record<string, string>;
}

function toStored(
  dlqPartition: number,
  dlqOffset: string,
  message: { key: Buffer | null; value: Buffer | null; headers?: IHeaders },
): StoredDeadLetter {
  const headers: Record<string, string> = {};
  const dlq: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    (DEAD_LETTER_HEADER_NAMES.includes(name) ? dlq : headers)[name] =
      (Array.isArray(value) ? value[0] : value)?.toString() ?? "";
  }
  const originalSize = dlq[DEAD_LETTER_HEADERS.originalSize];
  return {
    dlqPartition,
    dlqOffset,
    source: {
      topic: dlq[DEAD_LETTER_HEADERS.sourceTopic] ?? "",
      partition: Number(dlq[DEAD_LETTER_HEADERS.sourcePartition]),
      offset: dlq[DEAD_LETTER_HEADERS.sourceOffset] ?? "",
    },
    reason: dlq[DEAD_LETTER_HEADERS.reason] ?? "",
    truncated: dlq[DEAD_LETTER_HEADERS.truncated] === "true",
    originalSize: originalSize === undefined ? undefined : Number(originalSize),
    key: message.key,
    value: message.value,
    headers,
  };
}

/** Every dead letter on `topic` now, in order per partition; read by a group of its own, deleted after. */
export async function readDeadLetters(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<StoredDeadLetter[]> {
  const admin = kafka.admin();
  const groupId = `dead-letters-reader-${crypto.randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  const letters: StoredDeadLetter[] = [];
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const lastOffsets = new Map(
      ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]),
    );
    if (lastOffsets.size === 0) return letters;
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
        letters.push(toStored(partition, message.offset, message));
        if (BigInt(message.offset) === last) unread.delete(partition);
        if (unread.size === 0) allRead();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${topic} was not read to its end in ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([read, timedOut]).finally(() => clearTimeout(timer));
    return letters;
  } finally {
    await consumer.disconnect();
    // The group exists only if it joined; nothing to delete otherwise.
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * Writes the originals of `letters` back to their source topics (key, value and original headers),
 * each source partition and offset once however often it was dead-lettered. A truncated letter is not
 * replayed: its whole is only on the source topic, at its source offset, while Kafka keeps it.
 */
export async function replayDeadLetters(
  kafka: Kafka,
  letters: StoredDeadLetter[],
): Promise<{ replayed: StoredDeadLetter[]; truncated: StoredDeadLetter[] }> {
  const seen = new Set<string>();
  const replayed: StoredDeadLetter[] = [];
  const truncated: StoredDeadLetter[] = [];
  for (const letter of letters) {
    const source = `${letter.source.topic}/${letter.source.partition}/${letter.source.offset}`;
    if (seen.has(source)) continue;
    seen.add(source);
    (letter.truncated ? truncated : replayed).push(letter);
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const letter of replayed) {
      await producer.send({
        topic: letter.source.topic,
        acks: -1,
        messages: [{ key: letter.key, value: letter.value, headers: letter.headers }],
      });
    }
  } finally {
    await producer.disconnect();
  }
  return { replayed, truncated };
}
