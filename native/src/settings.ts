import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { readPid } from "./process.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const port = z.coerce.number().int().min(1).max(65535);

/** Every port and path of the native stack; defaults are the contract's, any can be set in .env or the environment. */
const schema = z.object({
  RUN_DIR: z.string().default(join(REPO_ROOT, ".run")),
  JVM_CACHE_DIR: z.string().default(join(homedir(), ".cache", "sum-pipeline", "jvm")),
  NGINX_HTTP_PORT: port.default(8090),
  NGINX_GRPC_PORT: port.default(50051),
  PROMETHEUS_PORT: port.default(9090),
  KAFKA_PORT: port.default(9092),
  KAFKA_CONTROLLER_PORT: port.default(9093),
  CONNECT_PORT: port.default(8083),
  KAFKA_METRICS_PORT: port.default(9404),
  POSTGRES_OUTBOX_EXPORTER_PORT: port.default(9187),
  POSTGRES_LEADER_EXPORTER_PORT: port.default(9188),
  POSTGRES_REPLICA_EXPORTER_PORT: port.default(9189),
  NGINX_STATUS_PORT: port.default(8099),
  NGINX_EXPORTER_PORT: port.default(9113),
  EXPORTER_DB_PASSWORD: z.string().min(1).default("exporter_local"),
  CONNECT_METRICS_PORT: port.default(9405),
  OUTBOX_DB_PORT: port.default(5434),
  LEADER_DB_PORT: port.default(5435),
  REPLICA_DB_PORT: port.default(5436),
  SERVICE_B_PORT: port.default(8082),
  SERVICE_A_INSTANCES: z.coerce.number().int().min(1).max(16).default(3),
  SERVICE_A_HTTP_PORT_BASE: port.default(8091),
  SERVICE_A_GRPC_PORT_BASE: port.default(50061),
  OUTBOX_DB_OWNER_PASSWORD: z.string().min(1).default("outbox_owner_local"),
  SERVICE_A_DB_PASSWORD: z.string().min(1).default("service_a_local"),
  DEBEZIUM_DB_PASSWORD: z.string().min(1).default("debezium_local"),
  TOTALS_DB_OWNER_PASSWORD: z.string().min(1).default("totals_owner_local"),
  SERVICE_B_DB_PASSWORD: z.string().min(1).default("service_b_local"),
  POSTGRES_SUPERUSER_PASSWORD: z.string().min(1).default("postgres_local"),
  REPLICATION_PASSWORD: z.string().min(1).default("replicator_local"),
  KAFKA_HEAP: z.string().default("-Xms256m -Xmx512m"),
  CONNECT_HEAP: z.string().default("-Xms256m -Xmx768m"),
});

export type Settings = z.infer<typeof schema>;

/** KEY=VALUE lines; `#` comments and blank lines skipped; optional surrounding quotes removed. */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    const [, key = "", raw = ""] = match;
    values[key] = raw.replace(/^(['"])(.*)\1$/, "$2");
  }
  return values;
}

/** Settings from the repository's .env, overridden by the environment. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const dotenvFile = join(REPO_ROOT, ".env");
  const fromFile = existsSync(dotenvFile) ? parseDotenv(readFileSync(dotenvFile, "utf8")) : {};
  const parsed = schema.safeParse({ ...fromFile, ...env });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid native stack settings (.env or environment):\n${problems.join("\n")}`);
  }
  return { ...parsed.data, RUN_DIR: resolve(parsed.data.RUN_DIR) };
}

export function serviceAPorts(settings: Settings): Array<{ index: number; http: number; grpc: number }> {
  return Array.from({ length: settings.SERVICE_A_INSTANCES }, (_, i) => ({
    index: i + 1,
    http: settings.SERVICE_A_HTTP_PORT_BASE + i,
    grpc: settings.SERVICE_A_GRPC_PORT_BASE + i,
  }));
}

export const paths = (settings: Settings) => {
  const run = settings.RUN_DIR;
  return {
    run,
    logs: join(run, "logs"),
    pids: join(run, "pids"),
    config: join(run, "config"),
    data: (name: string) => join(run, "data", name),
    log: (name: string) => join(run, "logs", `${name}.log`),
    pid: (name: string) => join(run, "pids", `${name}.pid`),
  };
};

/**
 * The pid of a running component: PostgreSQL's postmaster from its data directory (PostgreSQL keeps
 * that file true), the others from the run's pid files, checked to still name the process started.
 */
export function componentPid(settings: Settings, name: string): number | undefined {
  const p = paths(settings);
  if (!name.startsWith("postgres-") || name.startsWith("postgres-exporter")) return readPid(p.pid(name));
  const pidFile = join(p.data(name), "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
