/**
 * The dead-letter topic, for an operator (KAFKA_BROKERS, KAFKA_DLQ_TOPIC, KAFKA_SASL_*, MAX_DECOMPRESSED_BATCH_BYTES
 * and MAX_BATCH_RECORDS as for Service B; in the chart, replay writes the events topic, which only Connect's
 * Kafka user may: run it as a user the cluster's operator grants that):
 *   node dist/src/dead-letters-main.js list                  one JSON object a line per dead letter
 *   node dist/src/dead-letters-main.js replay 3:1200 4:17    the originals of these (source partition:offset)
 *   node dist/src/dead-letters-main.js replay all            ... of every dead letter
 * back to their source topic, each source partition and offset once.
 */
import { DEAD_LETTER_TOPIC } from "@sum/contract";
import { kafkaSasl, kafkaSaslSchema, loadConfig } from "@sum/service-kit";
import { Kafka, logLevel } from "kafkajs";
import { settingsSchema } from "./config.js";
import { readDeadLetters, replayDeadLetters, type StoredDeadLetter } from "./transport/dead-letter-topic.js";
import { readEveryKafkaCompression } from "./transport/kafka-codecs.js";

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",").map((broker) => broker.trim());
const topic = process.env.KAFKA_DLQ_TOPIC ?? DEAD_LETTER_TOPIC;
const [command, ...selectors] = process.argv.slice(2);

function describe(letter: StoredDeadLetter) {
  return {
    dlq_partition: letter.dlqPartition,
    dlq_offset: letter.dlqOffset,
    source: letter.source,
    reason: letter.reason,
    truncated: letter.truncated,
    original_size: letter.originalSize,
    key: letter.key?.toString("utf8") ?? null,
    value: letter.value?.toString("utf8") ?? null,
    headers: letter.headers,
  };
}

if (command !== "list" && !(command === "replay" && selectors.length > 0)) {
  process.stderr.write("usage: dead-letters-main list | replay all | replay <partition>:<offset>...\n");
  process.exit(2);
}
// The same limits as Service B's, from the same variables.
readEveryKafkaCompression({
  maxBytes: settingsSchema.shape.MAX_DECOMPRESSED_BATCH_BYTES.parse(process.env.MAX_DECOMPRESSED_BATCH_BYTES),
  maxRecords: settingsSchema.shape.MAX_BATCH_RECORDS.parse(process.env.MAX_BATCH_RECORDS),
});
const sasl = kafkaSasl(loadConfig("dead-letters", kafkaSaslSchema, process.env));
const kafka = new Kafka({ clientId: "dead-letters", brokers, sasl, logLevel: logLevel.WARN });
try {
  const letters = await readDeadLetters(kafka, topic);
  if (command === "list") {
    for (const letter of letters) process.stdout.write(`${JSON.stringify(describe(letter))}\n`);
  } else {
    const wanted = new Set(selectors);
    const chosen = wanted.has("all")
      ? letters
      : letters.filter((l) => wanted.has(`${l.source.partition}:${l.source.offset}`));
    const found = new Set(chosen.map((l) => `${l.source.partition}:${l.source.offset}`));
    for (const selector of wanted) {
      if (selector !== "all" && !found.has(selector)) process.stdout.write(`no dead letter from ${selector}\n`);
    }
    const { replayed, truncated } = await replayDeadLetters(kafka, chosen);
    for (const letter of replayed) {
      process.stdout.write(`replayed ${letter.source.topic} ${letter.source.partition}:${letter.source.offset}\n`);
    }
    for (const letter of truncated) {
      const { topic: source, partition, offset } = letter.source;
      process.stdout.write(`not replayed (truncated): read ${source} ${partition}:${offset} itself\n`);
    }
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
