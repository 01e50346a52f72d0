import { DEAD_LETTER_HEADERS, DEAD_LETTER_TOPIC, EVENTS_TOPIC } from "@sum/contract";
import { KafkaJSNonRetriableError, KafkaJSProtocolError, type Message, type Producer } from "kafkajs";
import { describe, expect, it } from "vitest";
import type { DeadLetter } from "../../domain/apply-batch.js";
import { kafkaDeadLetters } from "./dead-letter-producer.js";

const size = (value: Message["value"] | Message["key"]) =>
  value === null || value === undefined ? 0 : Buffer.byteLength(value);

function recordBytes(message: Message): number {
  let bytes = size(message.key) + size(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += name.length + String(value).length;
  return bytes;
}

/** A producer whose broker refuses, as Kafka does, any write of more than `limitBytes`. */
function fakeProducer(limitBytes = Number.POSITIVE_INFINITY) {
  const writes: Message[][] = [];
  const producer = {
    async send({ messages }: { messages: Message[] }) {
      if (messages.reduce((sum, m) => sum + recordBytes(m), 0) > limitBytes) {
        const refusal = Object.assign(new Error("larger than the max message size"), { type: "MESSAGE_TOO_LARGE" });
        // As kafkajs's retrier hands it on: wrapped, the protocol error as the cause.
        throw Object.assign(new KafkaJSNonRetriableError(new KafkaJSProtocolError(refusal)), {
          cause: new KafkaJSProtocolError(refusal),
        });
      }
      writes.push(messages);
      return [];
    },
  };
  return { producer: producer as unknown as Producer, writes };
}

function letters(count: number, valueBytes: number, firstOffset = 0): DeadLetter[] {
  return Array.from({ length: count }, (_, i) => ({
    message: {
      partition: 2,
      offset: String(firstOffset + i),
      key: Buffer.from(`key-${firstOffset + i}`),
      value: Buffer.alloc(valueBytes, "x"),
      headers: { id: "an-id" },
    },
    reason: "the value is not JSON",
  }));
}

const header = (message: Message, name: string) => message.headers?.[name]?.toString();

describe("kafkaDeadLetters", () => {
  it("a retry after a successful write writes nothing twice; new letters still go", async () => {
    const { producer, writes } = fakeProducer();
    const deadLetters = kafkaDeadLetters(producer, DEAD_LETTER_TOPIC, EVENTS_TOPIC);
    await deadLetters.send(letters(2, 10));
    await deadLetters.send(letters(2, 10));
    await deadLetters.send(letters(3, 10));
    expect(writes.flat().map((m) => header(m, DEAD_LETTER_HEADERS.sourceOffset))).toEqual(["0", "1", "2"]);
  });

  it("writes at most 512 KiB at a time, every letter once, in order, with where it came from", async () => {
    const { producer, writes } = fakeProducer();
    await kafkaDeadLetters(producer, DEAD_LETTER_TOPIC, EVENTS_TOPIC).send(letters(2000, 1024));
    expect(writes.length).toBeGreaterThanOrEqual(4);
    for (const write of writes)
      expect(write.reduce((sum, m) => sum + size(m.value), 0)).toBeLessThanOrEqual(512 * 1024);
    const written = writes.flat();
    expect(written.map((m) => header(m, DEAD_LETTER_HEADERS.sourceOffset))).toEqual(
      letters(2000, 0).map((l) => l.message.offset),
    );
    expect(written[0]?.headers).toMatchObject({
      id: "an-id",
      [DEAD_LETTER_HEADERS.reason]: "the value is not JSON",
      [DEAD_LETTER_HEADERS.sourceTopic]: EVENTS_TOPIC,
      [DEAD_LETTER_HEADERS.sourcePartition]: "2",
    });
  });

  it("a write refused as too large is split; a letter refused alone is cut short, with its size", async () => {
    const { producer, writes } = fakeProducer(64 * 1024);
    const burst = [...letters(100, 2048), ...letters(1, 100 * 1024, 100), ...letters(10, 2048, 101)];
    await kafkaDeadLetters(producer, DEAD_LETTER_TOPIC, EVENTS_TOPIC).send(burst);
    const written = writes.flat();
    expect(written.map((m) => header(m, DEAD_LETTER_HEADERS.sourceOffset))).toEqual(burst.map((l) => l.message.offset));
    const cut = written[100] as Message;
    expect(cut.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.truncated]: "true",
      [DEAD_LETTER_HEADERS.originalSize]: String(100 * 1024),
    });
    expect(size(cut.value)).toBe(1024);
    expect(written.filter((m) => header(m, DEAD_LETTER_HEADERS.truncated) !== undefined)).toHaveLength(1);
  });
});
