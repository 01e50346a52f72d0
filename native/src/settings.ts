import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { settingsSchema as reconcilerSettings, windowPastRetention } from "@sum/reconciler/config";
import { settingsSchema as serviceASettings } from "@sum/service-a/config";
import { settingsSchema as serviceBSettings } from "@sum/service-b/config";
import { z } from "zod";
import { isRoot, readPid } from "./process.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const port = z.coerce.number().int().min(1).max(65535);
/** No default (see PASSWORD_SETTINGS): unset, `make start` writes a random one into .env. */
const password = z
  .string({ error: "not set: `make start` writes a random one into .env, or set one there" })
  .min(1, "empty: `make start` writes a random one into .env, or set one there");

/**
 * A directory. `~` and `~/...` start at the home directory (a shell would expand them; .env is no
 * shell); a relative path starts at the repository root, where .env is.
 */
const directory = z
  .string()
  .min(1)
  .transform((path, context) => {
    if (/^~[^/]/.test(path)) {
      context.addIssue({
        code: "custom",
        message: `${path}: only ~ alone or ~/... is expanded (to ${homedir()}); write the whole path`,
      });
      return z.NEVER;
    }
    return resolve(REPO_ROOT, path.replace(/^~(?=\/|$)/, homedir()));
  });

/**
 * Each service's settings as .env names them: the service's variable after its prefix, since they
 * share names (SHUTDOWN_TIMEOUT_MS, LOG_LEVEL, DB_POOL_SIZE) with different defaults.
 */
export const SERVICE_SETTINGS = {
  "service-a": { prefix: "SERVICE_A_", schema: serviceASettings },
  "service-b": { prefix: "SERVICE_B_", schema: serviceBSettings },
  reconciler: { prefix: "RECONCILE_", schema: reconcilerSettings },
} as const;

type Prefixed<P extends string, S extends z.ZodRawShape> = { [K in keyof S & string as `${P}${K}`]: S[K] };

function prefixed<P extends string, S extends z.ZodRawShape>(service: {
  prefix: P;
  schema: z.ZodObject<S>;
}): Prefixed<P, S> {
  const entries = Object.entries(service.schema.shape).map(
    ([key, value]) => [`${service.prefix}${key}`, value] as const,
  );
  // TypeScript cannot follow keys renamed at run time: the type says what they become.
  return Object.fromEntries(entries) as Prefixed<P, S>;
}

/**
 * Every port, path and password of the native stack, and the services' settings; defaults are the
 * contract's (passwords have none), any can be set in .env or the environment (.env.example lists each with its description).
 */
export const settingsSchema = z.object({
  RUN_DIR: directory.prefault(".run").describe("The stack's data, logs and pid files."),
  JVM_CACHE_DIR: directory
    .prefault("~/.cache/sum-pipeline/jvm")
    .describe("The Kafka, Connect and Debezium jars, fetched from Maven Central once."),
  JAEGER_CACHE_DIR: directory
    .prefault("~/.cache/sum-pipeline/jaeger")
    .describe("The Jaeger binary, built from the Go module proxy once (native/jaeger/go.mod pins it)."),
  NGINX_HTTP_PORT: port.default(8090).describe("nginx, HTTP: the sums' entry."),
  NGINX_GRPC_PORT: port.default(50051).describe("nginx, gRPC: the sums' entry."),
  PROMETHEUS_PORT: port.default(9090).describe("Prometheus."),
  KAFKA_PORT: port.default(9092).describe("Kafka's broker."),
  KAFKA_CONTROLLER_PORT: port.default(9093).describe("Kafka's KRaft controller."),
  CONNECT_PORT: port.default(8083).describe("Kafka Connect's REST API."),
  KAFKA_METRICS_PORT: port.default(9404).describe("Kafka's JMX exporter."),
  POSTGRES_OUTBOX_EXPORTER_PORT: port.default(9187).describe("The postgres exporter of Service A's database."),
  POSTGRES_LEADER_EXPORTER_PORT: port.default(9188).describe("The postgres exporter of Service B's leader."),
  POSTGRES_REPLICA_EXPORTER_PORT: port.default(9189).describe("The postgres exporter of Service B's replica."),
  NGINX_STATUS_PORT: port.default(8099).describe("nginx's stub_status, read by its exporter."),
  NGINX_EXPORTER_PORT: port.default(9113).describe("The nginx exporter."),
  EXPORTER_DB_PASSWORD: password.describe("The postgres exporters' monitoring role."),
  CONNECT_METRICS_PORT: port.default(9405).describe("Kafka Connect's JMX exporter."),
  OUTBOX_DB_PORT: port.default(5434).describe("Service A's database (the outbox)."),
  LEADER_DB_PORT: port.default(5435).describe("Service B's leader database."),
  REPLICA_DB_PORT: port.default(5436).describe("Service B's replica database."),
  SERVICE_B_PORT: port.default(8082).describe("Service B's HTTP API."),
  RECONCILER_PORT: port.default(8084).describe("The reconciler's HTTP: probes and metrics."),
  JAEGER_QUERY_PORT: port.default(16686).describe("Jaeger's UI and query API (/api/traces/<trace id>)."),
  JAEGER_QUERY_GRPC_PORT: port.default(16685).describe("Jaeger's query API over gRPC."),
  JAEGER_OTLP_GRPC_PORT: port.default(4317).describe("Jaeger's OTLP receiver, gRPC."),
  JAEGER_OTLP_HTTP_PORT: port
    .default(4318)
    .describe("Jaeger's OTLP receiver, HTTP: where both services send their spans."),
  SERVICE_A_INSTANCES: z.coerce.number().int().min(1).max(16).default(3).describe("Service A instances behind nginx."),
  SERVICE_A_HTTP_PORT_BASE: port.default(8091).describe("The first Service A instance's HTTP port; the next count up."),
  // Below the kernel's ephemeral range (32768-60999), whose ports outgoing connections take: one taken
  // while its instance restarts would make the restart fail with EADDRINUSE.
  SERVICE_A_GRPC_PORT_BASE: port.default(8191).describe("The first Service A instance's gRPC port; the next count up."),
  OUTBOX_DB_OWNER_PASSWORD: password.describe("The outbox schema's owner (migrations)."),
  SERVICE_A_DB_PASSWORD: password.describe("Service A's own, least-privileged role."),
  DEBEZIUM_DB_PASSWORD: password.describe("Debezium's replication role."),
  TOTALS_DB_OWNER_PASSWORD: password.describe("The totals schema's owner (migrations)."),
  SERVICE_B_DB_PASSWORD: password.describe("Service B's own, least-privileged role."),
  RECONCILER_DB_PASSWORD: password.describe(
    "The reconciler's role on both databases: reads both, re-sends only through the outbox's functions.",
  ),
  POSTGRES_SUPERUSER_PASSWORD: password.describe("The postgres superuser of each database."),
  REPLICATION_PASSWORD: password.describe("The replica's streaming replication role."),
  KAFKA_HEAP: z.string().default("-Xms256m -Xmx512m").describe("Kafka's JVM heap."),
  CONNECT_HEAP: z.string().default("-Xms256m -Xmx768m").describe("Kafka Connect's JVM heap."),
  ...prefixed(SERVICE_SETTINGS["service-a"]),
  ...prefixed(SERVICE_SETTINGS["service-b"]),
  ...prefixed(SERVICE_SETTINGS.reconciler),
});

export type Settings = z.infer<typeof settingsSchema>;

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

/** Ports two components would both listen on: the named ports and each Service A instance's two. */
function portClashes(settings: Settings): string[] {
  const owners = new Map<number, string[]>();
  const claim = (port: number, owner: string) => owners.set(port, [...(owners.get(port) ?? []), owner]);
  for (const [key, value] of Object.entries(settings)) {
    if (key.endsWith("_PORT") && typeof value === "number") claim(value, key);
  }
  for (const { index, http, grpc } of serviceAPorts(settings)) {
    claim(http, `SERVICE_A_HTTP_PORT_BASE + ${index - 1} (instance ${index})`);
    claim(grpc, `SERVICE_A_GRPC_PORT_BASE + ${index - 1} (instance ${index})`);
  }
  return [...owners]
    .filter(([, names]) => names.length > 1)
    .map(([port, names]) => `  port ${port} is given to ${names.join(" and ")}: each needs a port of its own`);
}

/** The reconciler's window against Service B's retention of applied ids, checked as the reconciler checks it. */
function windowProblems(settings: Settings): string[] {
  const problem = windowPastRetention(settings.RECONCILE_WINDOW_HOURS, {
    days: settings.SERVICE_B_PROCESSED_RETENTION_DAYS,
    name: "SERVICE_B_PROCESSED_RETENTION_DAYS",
  });
  return problem ? [`  RECONCILE_WINDOW_HOURS: ${problem}`] : [];
}

/** Settings from a .env file (the repository's unless told), overridden by the environment. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, dotenvFile = join(REPO_ROOT, ".env")): Settings {
  const fromFile = existsSync(dotenvFile) ? parseDotenv(readFileSync(dotenvFile, "utf8")) : {};
  // A service's variable under its own name would silently do nothing: say which name it takes.
  const unprefixed = Object.keys(fromFile).flatMap((key) => {
    const names = Object.values(SERVICE_SETTINGS)
      .filter((service) => key in service.schema.shape)
      .map((service) => `${service.prefix}${key}`);
    return names.length > 0 ? [`  ${key}: a service's setting takes its service's prefix: ${names.join(" or ")}`] : [];
  });
  const parsed = settingsSchema.safeParse({ ...fromFile, ...env });
  const problems = [
    ...unprefixed,
    ...(parsed.error?.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`) ?? []),
    ...(parsed.success ? [...portClashes(parsed.data), ...windowProblems(parsed.data)] : []),
  ];
  if (!parsed.success || problems.length > 0) {
    throw new Error(`invalid native stack settings (${dotenvFile} or environment):\n${problems.join("\n")}`);
  }
  return parsed.data;
}

/** A service's settings as the service reads them: its own variable names, from .env or the environment. */
export function serviceSettingsEnv(settings: Settings, service: keyof typeof SERVICE_SETTINGS): Record<string, string> {
  const { prefix, schema } = SERVICE_SETTINGS[service];
  const values: Record<string, unknown> = settings;
  return Object.fromEntries(Object.keys(schema.shape).map((key) => [key, String(values[`${prefix}${key}`])]));
}

export function serviceAPorts(settings: Settings): Array<{ index: number; http: number; grpc: number }> {
  return Array.from({ length: settings.SERVICE_A_INSTANCES }, (_, i) => ({
    index: i + 1,
    http: settings.SERVICE_A_HTTP_PORT_BASE + i,
    grpc: settings.SERVICE_A_GRPC_PORT_BASE + i,
  }));
}

/**
 * Where PostgreSQL's data directories, socket and logs live: in the run directory, unless PostgreSQL
 * runs as another user (as root, `postgres`: initdb refuses root), who cannot enter that 0700
 * directory; then in a directory of the stack's own under /var/tmp, named from the run directory's
 * path, so the same one for it every time (whatever the checkout's own mode, a /root one too).
 */
export function postgresRoot(runDir: string): string {
  if (!isRoot()) return runDir;
  const hash = createHash("sha256").update(runDir).digest("hex").slice(0, 12);
  return join("/var/tmp", `sum-pipeline-postgres-${hash}`);
}

export const paths = (settings: Settings) => {
  const run = settings.RUN_DIR;
  const postgres = postgresRoot(run);
  return {
    run,
    /** PostgreSQL's own: see postgresRoot. */
    postgres: {
      root: postgres,
      sockets: join(postgres, "sockets"),
      data: (name: string) => join(postgres, "data", name),
      log: (name: string) => join(postgres, "logs", `${name}.log`),
    },
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
  const pidFile = join(p.postgres.data(name), "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
