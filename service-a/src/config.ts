import { hostname } from "node:os";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().positive();

const schema = z.object({
  SERVICE_ID: z.string().min(1).max(100).default(`service-a-${hostname()}`),
  HOST: z.string().min(1).default("127.0.0.1"),
  HTTP_PORT: port.default(8081),
  GRPC_PORT: port.default(50052),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgresql:// URL" }),
  MIGRATION_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgresql:// URL" }),
  DB_POOL_SIZE: positive.default(8),
  DB_CONNECT_TIMEOUT_MS: positive.default(1000),
  DB_STATEMENT_TIMEOUT_MS: positive.default(5000),
  GROUP_COMMIT_MAX_BATCH: positive.max(5000).default(500),
  GROUP_COMMIT_WINDOW_MS: z.coerce.number().min(0).max(100).default(1),
  GROUP_COMMIT_MAX_QUEUED: positive.default(5000),
  // Every sum is answered within this; nginx's read timeouts (nginx/nginx.conf, 15 s) stay above it,
  // so the proxy never gives up on a request Service A may still commit.
  REQUEST_TIMEOUT_MS: positive.max(14_000).default(8000),
  /** Debezium's replication slot (debezium/outbox-connector.json): its state decides whether sums are taken. */
  OUTBOX_SLOT_NAME: z.string().min(1).max(63).default("outbox_slot"),
  /** The fraction of max_slot_wal_keep_size the slot may hold before new sums are refused (503). */
  OUTBOX_SLOT_REFUSE_AT: z.coerce.number().gt(0).max(1).default(0.75),
  /** How often the slot's state is read. */
  OUTBOX_SLOT_CHECK_MS: positive.default(1000),
  SHUTDOWN_TIMEOUT_MS: positive.default(10_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema>;

/** Parses the environment once; every problem is reported together, by variable name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid Service A configuration:\n${problems.join("\n")}`);
  }
  if (parsed.data.DB_POOL_SIZE < 2) {
    throw new Error(
      "invalid Service A configuration:\n  DB_POOL_SIZE: must be at least 2 (one connection is kept for health checks)",
    );
  }
  return parsed.data;
}
