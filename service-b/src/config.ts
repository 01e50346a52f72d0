import { hostname } from "node:os";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().positive();
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgresql:// URL" });

const schema = z.object({
  SERVICE_ID: z.string().min(1).default(`service-b-${hostname()}`),
  HOST: z.string().min(1).default("127.0.0.1"),
  HTTP_PORT: port.default(8082),
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .default("127.0.0.1:9092")
    .transform((value) => value.split(",").map((broker) => broker.trim())),
  KAFKA_TOPIC: z.string().min(1).default("user-events"),
  KAFKA_DLQ_TOPIC: z.string().min(1).default("user-events.dlq"),
  KAFKA_GROUP_ID: z.string().min(1).default("service-b"),
  /** How long the group waits for a silent member (a crashed one) before giving its partitions away. */
  KAFKA_SESSION_TIMEOUT_MS: positive.min(6000).default(30_000),
  /**
   * A fetch waits for this many bytes (or FETCH_MAX_WAIT_MS): under load, batches of a few hundred
   * events instead of a handful, so one statement and one offset commit serve many events.
   */
  FETCH_MIN_BYTES: positive.default(65_536),
  /** The longest a fetch waits for FETCH_MIN_BYTES; the most it adds to an event's end-to-end latency. */
  FETCH_MAX_WAIT_MS: positive.max(5000).default(100),
  /** Most events applied in one transaction (a fetched batch is cut into slices of this size). */
  APPLY_SLICE_SIZE: positive.max(10_000).default(2000),
  LEADER_DATABASE_URL: postgresUrl,
  REPLICA_DATABASE_URL: postgresUrl,
  MIGRATION_DATABASE_URL: postgresUrl,
  DB_POOL_SIZE: positive.default(4),
  /** Eventually consistent reads go to the leader while the replica is further behind than this. */
  REPLICA_MAX_LAG_MS: positive.default(5000),
  /**
   * How long applied event ids are kept. Replays from Kafka are caught by the stored offsets; the ids
   * catch Debezium publishing an event again at a new offset after a Connect crash, so they must
   * outlast any such redelivery: Connect down and restarted within a day (ComponentDown alerts
   * after a minute) re-publishes at most what it had not yet flushed, from before it stopped.
   */
  PROCESSED_RETENTION_DAYS: z.coerce
    .number()
    .min(1, "must be at least 1 (day): the ids must outlast any redelivery by Debezium")
    .default(7),
  PRUNE_INTERVAL_MS: positive.default(60_000),
  PRUNE_BATCH: positive.default(1000),
  RETRY_MAX_BACKOFF_MS: positive.default(5000),
  SHUTDOWN_TIMEOUT_MS: positive.default(15_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema>;

/** Parses the environment once; every problem is reported together, by variable name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid Service B configuration:\n${problems.join("\n")}`);
  }
  return parsed.data;
}
