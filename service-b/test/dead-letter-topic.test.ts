import { Kafka, logLevel } from "kafkajs";
import { describe, expect, inject, it } from "vitest";
import type { DeadLetter } from "../src/domain/apply-batch.js";
import { kafkaDeadLetters } from "../src/transport/dead-letter-producer.js";
import { readDeadLetters } from "../src/transport/dead-letter-topic.js";
import { deadLettersCli } from "../support/dead-letters-cli.js";
import { uniqueNames } from "../support/events.js";
import { createTopics } from "./harness.js";

const brokers = inject("kafkaBrokers");
const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });

const letter = (offset: string, value: string): DeadLetter => ({
  message: {
    partition: 1,
    offset,
    key: Buffer.from(`key-${offset}`),
    value: Buffer.from(value),
    headers: { id: offset },
  },
  reason: "the value is not JSON",
});

describe("the dead-letter topic, for an operator", () => {
  it("lists each dead letter, and replays each source message once, except those cut short", async () => {
    const names = uniqueNames("dlq-tool");
    await createTopics(brokers, names, { dlqMaxMessageBytes: 64 * 1024 });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const poison = letter("5", "not json {");
      const oversized = letter("7", "x".repeat(100 * 1024));
      await kafkaDeadLetters(producer, names.dlq, names.topic).send([poison, oversized]);
      // Written again, as after a crash between the write and the commit.
      await kafkaDeadLetters(producer, names.dlq, names.topic).send([poison]);
    } finally {
      await producer.disconnect();
    }

    const listed = (await deadLettersCli(brokers, names.dlq, "list")).map((line) => JSON.parse(line));
    expect(listed).toHaveLength(3);
    expect(listed[0]).toMatchObject({
      source: { topic: names.topic, partition: 1, offset: "5" },
      reason: "the value is not JSON",
      truncated: false,
      key: "key-5",
      value: "not json {",
      headers: { id: "5" },
    });
    expect(listed[1]).toMatchObject({ source: { offset: "7" }, truncated: true, original_size: 100 * 1024 });

    expect(await deadLettersCli(brokers, names.dlq, "replay", "all")).toEqual([
      `replayed ${names.topic} 1:5`,
      `not replayed (truncated): read ${names.topic} 1:7 itself`,
    ]);
    // The source topic read as any topic: it holds the one original, without the dlq-* headers.
    const replayed = await readDeadLetters(kafka, names.topic);
    expect(replayed.map((r) => [r.key?.toString(), r.value?.toString(), r.headers])).toEqual([
      ["key-5", "not json {", { id: "5" }],
    ]);
  });
});
