import { hostname } from "node:os";
import { DEAD_LETTER_TOPIC, EVENTS_TOPIC } from "@sum/contract";
import {
  checkKafkaSasl,
  kafkaSaslSettings,
  lifecycleSettings,
  otlpEndpointSetting,
  tracingSettings,
} from "@sum/service-kit";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().positive();
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgresql:// URL" });

/**
 * What the stack running Service B decides (native/src/components/node-service.ts,
 * docker-compose/docker-compose.yml): its name, where it listens, its databases, the topics and
 * consumer group the stack creates and watches, and the Kafka user it authenticates as (the chart's
 * KafkaUser; none on the PLAINTEXT listeners of the native and Compose stacks), and where spans go.
 */
const wiring = z.object({
  SERVICE_ID: z.string().min(1).default(`service-b-${hostname()}`),
  HOST: z.string().min(1).default("127.0.0.1"),
  HTTP_PORT: port.default(8082),
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .default("127.0.0.1:9092")
    .transform((value) => value.split(",").map((broker) => broker.trim())),
  KAFKA_TOPIC: z.string().min(1).default(EVENTS_TOPIC),
  KAFKA_DLQ_TOPIC: z.string().min(1).default(DEAD_LETTER_TOPIC),
  KAFKA_GROUP_ID: z.string().min(1).default("service-b"),
  ...kafkaSaslSettings,
  LEADER_DATABASE_URL: postgresUrl,
  REPLICA_DATABASE_URL: postgresUrl,
  MIGRATION_DATABASE_URL: postgresUrl,
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpointSetting,
});

/**
 * What an operator may tune. Both stacks pass each from .env as SERVICE_B_<name>; .env.example lists
 * them with these descriptions and defaults (native/src/env-example.test.ts keeps the two equal).
 */
export const settingsSchema = z.object({
  KAFKA_SESSION_TIMEOUT_MS: positive
    .min(6000)
    .default(30_000)
    .describe("How long the consumer group waits for a silent (crashed) member before giving its partitions away."),
  // Batches of a few hundred events instead of a handful, so one statement and one offset commit
  // serve many events.
  FETCH_MIN_BYTES: positive
    .default(65_536)
    .describe("A Kafka fetch waits for this many bytes, or its longest wait: batches of hundreds under load."),
  FETCH_MAX_WAIT_MS: positive
    .max(5000)
    // 50 rather than 100: end-to-end p99 at 1,000 sums/s 246 -> 192 ms (make bench); the fetches it
    // adds at low load cost little, and under load FETCH_MIN_BYTES fills first.
    .default(50)
    .describe("The longest a Kafka fetch waits for its bytes: the most it adds to an event's end-to-end latency."),
  // kafkajs decodes a whole fetch before Service B sees any of it, and an uncompressed record takes
  // up to 46 times its bytes once decoded (an empty one: 9 bytes, 410 of heap): kafkajs's default,
  // 10 MiB, could take 480 MB. 1 MiB is still a few thousand of the outbox's events a fetch.
  FETCH_MAX_BYTES: positive
    .default(1_048_576)
    .describe("The most bytes a Kafka fetch brings, all partitions together; decoded at once, up to 46 times as many."),
  // A quarter of a fetch: a partition far behind leaves room for others, applied beside it.
  FETCH_MAX_PARTITION_BYTES: positive
    .default(262_144)
    .describe("The most bytes a Kafka fetch brings of one partition, so that others share the fetch."),
  // Kafka's largest batch is 1 MiB by default (max.message.bytes), and the outbox's JSON shrinks to a
  // fifth or less: 32 MiB leaves room for larger batches and still keeps a few in memory at once. A
  // zstd batch also needs its window, which the decoder allocates first: 2 MiB at Kafka's default
  // level (3), 8 MiB up to level 19, 32 MiB at 20 (compression.zstd.level).
  MAX_DECOMPRESSED_BATCH_BYTES: positive
    .min(8_388_608, "must be at least 8388608 (8 MiB): a zstd batch's window alone is up to 8 MiB at levels up to 19")
    .default(33_554_432)
    .describe(
      "The most bytes a compressed Kafka batch, and a fetch's together, may expand to; a larger batch is refused, loudly.",
    ),
  // Each record and each of its headers is an object once decoded, up to 410 bytes, however few bytes
  // it takes compressed: 400,000 empty records gzip to 559 KB. An outbox event is a record with three
  // headers, and Connect's batches (16 KiB) hold hundreds; 100,000 decode to at most 41 MB.
  MAX_BATCH_RECORDS: positive
    .default(100_000)
    .describe(
      "The most records and record headers a compressed Kafka batch, and a fetch's together, may hold; a larger batch is refused, loudly.",
    ),
  APPLY_SLICE_SIZE: positive
    .max(10_000)
    .default(2000)
    .describe("Most events applied in one transaction (a fetched batch is cut into slices of this size)."),
  DB_POOL_SIZE: positive
    .default(4)
    .describe("Connections to the leader database; partitions are applied at once on all but one of them."),
  REPLICA_MAX_LAG_MS: positive
    .default(5000)
    .describe("Eventually consistent reads go to the leader while the replica is further behind than this."),
  // Replays from Kafka are caught by the stored offsets; the ids catch Debezium publishing an event
  // again at a new offset after a Connect crash, so they must outlast any such redelivery: Connect
  // down and restarted within a day (ComponentDown alerts after a minute) re-publishes at most what
  // it had not yet flushed, from before it stopped.
  PROCESSED_RETENTION_DAYS: z.coerce
    .number()
    .min(1, "must be at least 1 (day): the ids must outlast any redelivery by Debezium")
    .default(7)
    .describe("How long applied event ids are kept against Debezium's redeliveries, in days; at least 1."),
  PRUNE_INTERVAL_MS: positive.default(60_000).describe("How often applied event ids past their retention are deleted."),
  PRUNE_BATCH: positive.default(1000).describe("Most applied event ids deleted in one statement."),
  RETRY_MAX_BACKOFF_MS: positive.default(5000).describe("The longest wait between two attempts to apply a batch."),
  ...tracingSettings(),
  ...lifecycleSettings({
    defaultMs: 15_000,
    description: "How long a stop may take before the process exits anyway (plus 5 s of grace).",
  }),
});

const serviceSettings = wiring.extend(settingsSchema.shape);

export const configSchema = serviceSettings.superRefine(checkKafkaSasl);

export type Config = z.infer<typeof configSchema>;

/** The dead-letter tool's (dead-letters-main.ts): Service B's topics and decoding limits, from the same variables. */
export const deadLetterToolSchema = serviceSettings
  .pick({
    KAFKA_BROKERS: true,
    KAFKA_TOPIC: true,
    KAFKA_DLQ_TOPIC: true,
    KAFKA_SASL_MECHANISM: true,
    KAFKA_SASL_USERNAME: true,
    KAFKA_SASL_PASSWORD: true,
    MAX_DECOMPRESSED_BATCH_BYTES: true,
    MAX_BATCH_RECORDS: true,
  })
  .superRefine(checkKafkaSasl);
