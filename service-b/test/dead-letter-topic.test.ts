import { asyncApiValidators } from "@sum/test-support";
import { Kafka, type KafkaMessage, logLevel } from "kafkajs";
import { describe, expect, inject, it } from "vitest";
import type { DeadLetter } from "../src/domain/apply-batch.js";
import { kafkaDeadLetters } from "../src/transport/dead-letters/dead-letter-producer.js";
import { readTopic } from "../src/transport/dead-letters/dead-letter-topic.js";
import { deadLettersCli } from "../support/dead-letters-cli.js";
import { produce, uniqueNames } from "../support/events.js";
import { createTopics } from "../support/harness.js";

const brokers = inject("kafkaBrokers");
const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });

const letter = (offset: string, value: string, headers: Record<string, string> = { id: offset }): DeadLetter => ({
  message: { partition: 1, offset, key: Buffer.from(`key-${offset}`), value: Buffer.from(value), headers },
  reason: "the value is not JSON",
});

/** Dead-letters `letters` as Service B does, read from `names.topic`. */
async function deadLetter(names: { topic: string; dlq: string }, letters: DeadLetter[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await kafkaDeadLetters(producer, names.dlq, names.topic).send(letters);
  } finally {
    await producer.disconnect();
  }
}

const headersOf = (message: KafkaMessage) =>
  Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));

/** Every message on `topic` as [key, value, headers], as any consumer reads them. */
async function messagesOn(topic: string) {
  return (await readTopic(kafka, topic)).map(({ message }) => [
    message.key?.toString(),
    message.value?.toString(),
    headersOf(message),
  ]);
}

const list = async (names: { topic: string; dlq: string }) =>
  (await deadLettersCli(brokers, names, "list")).map((line) => JSON.parse(line));

describe("the dead-letter topic, for an operator", () => {
  it("lists each dead letter, and replays each source message once, except those cut short", async () => {
    const names = uniqueNames("dlq-tool");
    await createTopics(brokers, names, { dlqMaxMessageBytes: 64 * 1024 });
    const poison = letter("5", "not json {");
    const oversized = letter("7", "x".repeat(100 * 1024));
    await deadLetter(names, [poison, oversized]);
    // Written again, as after a crash between the write and the commit.
    await deadLetter(names, [poison]);

    const listed = await list(names);
    expect(listed).toHaveLength(3);
    expect(listed[0]).toMatchObject({
      source: { topic: names.topic, partition: 1, offset: "5" },
      reason: "the value is not JSON",
      truncated: false,
      replayed_at: null,
      key: "key-5",
      value: "not json {",
      headers: { id: "5" },
    });
    expect(listed[1]).toMatchObject({ source: { offset: "7" }, truncated: true, original_size: 100 * 1024 });

    expect(await deadLettersCli(brokers, names, "replay", "all")).toEqual([
      `replayed ${names.topic} 1:5`,
      `not replayed (truncated): read ${names.topic} 1:7 itself`,
    ]);
    // The source topic holds the one original, without the dlq-* headers.
    expect(await messagesOn(names.topic)).toEqual([["key-5", "not json {", { id: "5" }]]);
  });

  it("a message's own dlq-* headers are kept apart, under dlq-original-header-: its letter's are the pipeline's, and it is replayed as it was", async () => {
    const names = uniqueNames("dlq-forged");
    await createTopics(brokers, names);
    // Poison that claims to be a truncated letter (so never replayable), with another reason.
    const forged = {
      id: "9",
      "dlq-truncated": "true",
      "dlq-original-size": "99",
      "dlq-reason": "forged",
      "dlq-original-header-dlq-truncated": "nested",
    };
    await deadLetter(names, [letter("9", "not json {", forged)]);

    const [stored] = await readTopic(kafka, names.dlq);
    expect(headersOf(stored?.message as KafkaMessage)).toEqual({
      id: "9",
      "dlq-original-header-dlq-truncated": "true",
      "dlq-original-header-dlq-original-size": "99",
      "dlq-original-header-dlq-reason": "forged",
      "dlq-original-header-dlq-original-header-dlq-truncated": "nested",
      "dlq-reason": "the value is not JSON",
      "dlq-source-topic": names.topic,
      "dlq-source-partition": "1",
      "dlq-source-offset": "9",
    });
    expect(await list(names)).toMatchObject([
      { reason: "the value is not JSON", truncated: false, original_size: null, headers: forged },
    ]);
    expect(await deadLettersCli(brokers, names, "replay", "all")).toEqual([`replayed ${names.topic} 1:9`]);
    expect(await messagesOn(names.topic)).toEqual([["key-9", "not json {", forged]]);
  });

  it("replays to the topic it is configured with, never to one a header names", async () => {
    const names = uniqueNames("dlq-destination");
    const decoy = uniqueNames("dlq-decoy");
    await createTopics(brokers, names);
    await createTopics(brokers, decoy);
    // The original names another topic in a dlq-* header of its own ...
    await deadLetter(names, [letter("4", "not json {", { id: "4", "dlq-source-topic": decoy.topic })]);
    // ... and a letter on the topic, not written by Service B, claims to come from it.
    await produce(brokers, names.dlq, [
      {
        key: "k",
        value: "not json {",
        headers: {
          "dlq-reason": "the value is not JSON",
          "dlq-source-topic": decoy.topic,
          "dlq-source-partition": "0",
          "dlq-source-offset": "3",
        },
      },
    ]);

    expect(await deadLettersCli(brokers, names, "replay", "all")).toEqual([
      `replayed ${names.topic} 1:4`,
      `not replayed (not from ${names.topic}): ${decoy.topic} 0:3`,
    ]);
    expect(await deadLettersCli(brokers, names, "replay", "0:3")).toEqual(["no dead letter from 0:3", "nothing sent"]);
    expect(await messagesOn(decoy.topic)).toEqual([]);
    expect(await messagesOn(names.topic)).toEqual([
      ["key-4", "not json {", { id: "4", "dlq-source-topic": decoy.topic }],
    ]);
  });

  it("prints what a letter holds escaped: an escape sequence is shown, never obeyed; a long value is cut, visibly", async () => {
    const names = uniqueNames("dlq-escapes");
    await createTopics(brokers, names);
    const hostile = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\u009b1m\u202ehidden\\";
    await deadLetter(names, [letter("2", hostile, { [`x-\x1b[1m`]: "\x1b[5mblink" }), letter("3", "y".repeat(5000))]);
    await produce(brokers, names.dlq, [
      {
        key: "k",
        value: "v",
        headers: {
          "dlq-reason": "\x1b[8m",
          "dlq-source-topic": "\x1b[2Jelsewhere",
          "dlq-source-partition": "0",
          "dlq-source-offset": "1",
        },
      },
    ]);
    // No control character (C0, DEL, C1) nor format character (a bidirectional override) reaches the terminal.
    const unsafe = /[\p{Cc}\p{Cf}]/u;

    const lines = await deadLettersCli(brokers, names, "list");
    for (const line of lines) expect(line).not.toMatch(unsafe);
    const listed = lines.map((line) => JSON.parse(line));
    expect(listed[0]).toMatchObject({
      value: "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\u{9b}1m\\u{202e}hidden\\\\",
      headers: { "x-\\x1b[1m": "\\x1b[5mblink" },
    });
    expect(listed[1]).toMatchObject({ value: `${"y".repeat(1024)}\\[+3976 bytes]` });
    expect(listed[2]).toMatchObject({ reason: "\\x1b[8m", source: { topic: "\\x1b[2Jelsewhere" } });

    const replayed = await deadLettersCli(brokers, names, "replay", "all");
    for (const line of replayed) expect(line).not.toMatch(unsafe);
    expect(replayed).toContain(`not replayed (not from ${names.topic}): \\x1b[2Jelsewhere 0:1`);
  });

  it("records each replay: a second `replay all` sends nothing, and says so", async () => {
    const names = uniqueNames("dlq-twice");
    await createTopics(brokers, names);
    await deadLetter(names, [letter("5", "not json {"), letter("6", "[]")]);

    expect(await deadLettersCli(brokers, names, "replay", "all")).toEqual([
      `replayed ${names.topic} 1:5`,
      `replayed ${names.topic} 1:6`,
    ]);
    const again = await deadLettersCli(brokers, names, "replay", "all");
    expect(again).toHaveLength(3);
    expect(again[0]).toMatch(
      new RegExp(`^not replayed \\(already, at \\d{4}-\\d\\d-\\d\\dT[^)]+\\): ${names.topic} 1:5$`),
    );
    expect(again[1]).toMatch(new RegExp(`^not replayed \\(already, at [^)]+\\): ${names.topic} 1:6$`));
    expect(again[2]).toBe("nothing sent");
    expect((await deadLettersCli(brokers, names, "replay", "1:6")).at(-1)).toBe("nothing sent");

    expect(await messagesOn(names.topic)).toEqual([
      ["key-5", "not json {", { id: "5" }],
      ["key-6", "[]", { id: "6" }],
    ]);
    const listed = await list(names);
    expect(listed.map((l) => typeof l.replayed_at)).toEqual(["string", "string"]);
    // The records, after the two letters, as docs/asyncapi.yaml describes them.
    const { deadLetterReplayed } = asyncApiValidators();
    const records = (await readTopic(kafka, names.dlq)).slice(2).map(({ message }) => message);
    expect(records.map((r) => [r.key, r.value, headersOf(r)["dlq-source-offset"]])).toEqual([
      [null, null, "5"],
      [null, null, "6"],
    ]);
    for (const record of records) {
      const headers = headersOf(record);
      expect(deadLetterReplayed?.headers(headers), JSON.stringify(deadLetterReplayed?.headers.errors)).toBe(true);
    }
  });
});
