import { hostname } from "node:os";
import { lifecycleSettings, otlpEndpointSetting, tracingSettings } from "@sum/service-kit";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().positive();
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgresql:// URL" });

/**
 * What the stack running an instance decides (native/src/components/node-service.ts,
 * docker-compose/docker-compose.yml): its name, where it listens, its database, and Debezium's slot
 * (debezium/outbox-connector.json), whose state decides whether sums are taken, and where spans go.
 */
const wiring = z.object({
  SERVICE_ID: z.string().min(1).max(100).default(`service-a-${hostname()}`),
  HOST: z.string().min(1).default("127.0.0.1"),
  HTTP_PORT: port.default(8081),
  GRPC_PORT: port.default(50052),
  DATABASE_URL: postgresUrl,
  MIGRATION_DATABASE_URL: postgresUrl,
  OUTBOX_SLOT_NAME: z.string().min(1).max(63).default("outbox_slot"),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpointSetting,
});

/**
 * What an operator may tune. Both stacks pass each from .env as SERVICE_A_<name>; .env.example lists
 * them with these descriptions and defaults (native/src/env-example.test.ts keeps the two equal).
 */
export const settingsSchema = z.object({
  DB_POOL_SIZE: positive
    .min(2, "must be at least 2 (one connection is kept for health checks)")
    .default(8)
    .describe("Database connections per instance; one is kept for health checks, so at least 2."),
  DB_CONNECT_TIMEOUT_MS: positive.default(1000).describe("How long a new database connection may take."),
  DB_STATEMENT_TIMEOUT_MS: positive.default(5000).describe("How long one database statement may run."),
  GROUP_COMMIT_MAX_BATCH: positive.max(5000).default(500).describe("Most events committed in one transaction."),
  GROUP_COMMIT_WINDOW_MS: z.coerce
    .number()
    .min(0)
    .max(100)
    .default(1)
    .describe("How long a transaction's first event waits for others to join it."),
  GROUP_COMMIT_MAX_QUEUED: positive
    .default(5000)
    .describe("Most events waiting for a transaction; beyond this, sums are refused at once (503)."),
  // nginx's read timeouts (nginx/nginx.conf, 15 s) stay above this, so the proxy never gives up on a
  // request Service A may still commit.
  REQUEST_TIMEOUT_MS: positive
    .max(14_000)
    .default(8000)
    .describe(
      "Every sum is answered within this (503 if still queued, 500 OUTCOME_UNKNOWN if committing); at most 14000.",
    ),
  OUTBOX_SLOT_REFUSE_AT: z.coerce
    .number()
    .gt(0)
    .max(1)
    .default(0.75)
    .describe("Fraction of max_slot_wal_keep_size Debezium's slot may hold before new sums are refused (503)."),
  OUTBOX_SLOT_CHECK_MS: positive.default(1000).describe("How often the state of Debezium's slot is read."),
  ...tracingSettings(),
  ...lifecycleSettings({
    defaultMs: 10_000,
    description: "How long a stopping instance may take to finish its requests.",
  }),
});

export const configSchema = wiring.extend(settingsSchema.shape);

export type Config = z.infer<typeof configSchema>;
