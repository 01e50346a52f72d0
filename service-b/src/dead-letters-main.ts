/**
 * The dead-letter topic, for an operator (KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_DLQ_TOPIC, KAFKA_SASL_*,
 * MAX_DECOMPRESSED_BATCH_BYTES and MAX_BATCH_RECORDS as for Service B; in the chart, replay writes the events
 * topic, which only Connect's Kafka user may: run it as a user the cluster's operator grants that):
 *   node dist/src/dead-letters-main.js list                  one JSON object a line per dead letter
 *   node dist/src/dead-letters-main.js replay 3:1200 4:17    the originals of these (source partition:offset)
 *   node dist/src/dead-letters-main.js replay all            ... of every dead letter
 * to KAFKA_TOPIC, each source message once ever (a replay is recorded on the dead-letter topic).
 * A letter is data, not instructions: what is printed of it is escaped (printable.ts).
 */
import { kafkaSasl, loadConfig } from "@sum/service-kit";
import { Kafka, logLevel } from "kafkajs";
import { deadLetterToolSchema } from "./config.js";
import { printable } from "./printable.js";
import {
  readDeadLetters,
  replayDeadLetters,
  type SourceMessage,
  type StoredDeadLetter,
  sourceKey,
} from "./transport/dead-letters/dead-letter-topic.js";
import { readEveryKafkaCompression } from "./transport/kafka/kafka-codecs.js";

const SELECTOR = /^\d+:\d+$/;
const USAGE = "usage: dead-letters-main list | replay all | replay <partition>:<offset>...\n";

const [command, ...selectors] = process.argv.slice(2);
const bad = selectors.filter((s) => s !== "all" && !SELECTOR.test(s));
if (command !== "list" && !(command === "replay" && selectors.length > 0 && bad.length === 0)) {
  const problem = bad.length > 0 ? `not all or <partition>:<offset>: ${bad.map((s) => printable(s)).join(" ")}\n` : "";
  process.stderr.write(problem + USAGE);
  process.exit(2);
}
let config: ReturnType<typeof deadLetterToolSchema.parse>;
try {
  config = loadConfig("dead-letters", deadLetterToolSchema, process.env);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
// The same limits as Service B's, from the same variables.
readEveryKafkaCompression({ maxBytes: config.MAX_DECOMPRESSED_BATCH_BYTES, maxRecords: config.MAX_BATCH_RECORDS });

const source = ({ topic, partition, offset }: SourceMessage) => `${printable(topic)} ${partition}:${printable(offset)}`;
const shownOrNull = (bytes: Buffer | null) => (bytes === null ? null : printable(bytes));

function describe(letter: StoredDeadLetter, replayedAt: string | undefined) {
  return {
    dlq_partition: letter.dlqPartition,
    dlq_offset: letter.dlqOffset,
    source: {
      topic: printable(letter.source.topic),
      partition: letter.source.partition,
      offset: printable(letter.source.offset),
    },
    reason: printable(letter.reason),
    truncated: letter.truncated,
    original_size: letter.originalSize ?? null,
    replayed_at: replayedAt === undefined ? null : printable(replayedAt),
    key: shownOrNull(letter.key),
    value: shownOrNull(letter.value),
    headers: Object.fromEntries(
      Object.entries(letter.headers).map(([name, value]) => [
        printable(name),
        Array.isArray(value) ? value.map((v) => printable(v)) : value === undefined ? null : printable(value),
      ]),
    ),
  };
}

const kafka = new Kafka({
  clientId: "dead-letters",
  brokers: config.KAFKA_BROKERS,
  sasl: kafkaSasl(config),
  logLevel: logLevel.WARN,
});
try {
  const topic = await readDeadLetters(kafka, config.KAFKA_DLQ_TOPIC);
  if (command === "list") {
    for (const letter of topic.letters) {
      const replayedAt = topic.replayedAt.get(sourceKey(letter.source));
      process.stdout.write(`${JSON.stringify(describe(letter, replayedAt))}\n`);
    }
  } else {
    const wanted = new Set(selectors);
    const chosen = wanted.has("all")
      ? topic.letters
      : topic.letters.filter(
          (l) => l.source.topic === config.KAFKA_TOPIC && wanted.has(`${l.source.partition}:${l.source.offset}`),
        );
    const found = new Set(chosen.map((l) => `${l.source.partition}:${l.source.offset}`));
    for (const selector of wanted) {
      if (selector !== "all" && !found.has(selector)) process.stdout.write(`no dead letter from ${selector}\n`);
    }
    const replay = await replayDeadLetters(kafka, topic, chosen, {
      topic: config.KAFKA_TOPIC,
      dlqTopic: config.KAFKA_DLQ_TOPIC,
    });
    for (const letter of replay.sent) process.stdout.write(`replayed ${source(letter.source)}\n`);
    for (const { letter, at } of replay.alreadyReplayed) {
      process.stdout.write(`not replayed (already, at ${printable(at)}): ${source(letter.source)}\n`);
    }
    for (const letter of replay.truncated) {
      process.stdout.write(`not replayed (truncated): read ${source(letter.source)} itself\n`);
    }
    for (const letter of replay.otherSource) {
      process.stdout.write(`not replayed (not from ${config.KAFKA_TOPIC}): ${source(letter.source)}\n`);
    }
    if (replay.sent.length === 0) process.stdout.write("nothing sent\n");
  }
} catch (error) {
  process.stderr.write(`${printable((error as Error).message)}\n`);
  process.exit(1);
}
