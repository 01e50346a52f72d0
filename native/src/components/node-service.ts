import { join } from "node:path";
import { OUTBOX_SLOT } from "@sum/postgres";
import { httpOk } from "../process.js";
import { REPO_ROOT, type Settings, serviceSettingsEnv } from "../settings.js";
import { DaemonComponent } from "./daemon.js";

export interface NodeServiceOptions {
  name: string;
  /** The built entry point, relative to the repository root. */
  entry: string;
  httpPort: number;
  ports: number[];
  address: string;
  /** Its settings and wiring, over the runner's own environment. */
  env: Record<string, string>;
}

/** One of our TypeScript services (built to dist/), run with node, ready when its /readyz says so. */
export class NodeService extends DaemonComponent {
  constructor(
    settings: Settings,
    private readonly options: NodeServiceOptions,
  ) {
    super(settings, { name: options.name, address: options.address, ports: options.ports, stopTimeoutMs: 20_000 });
  }

  async isReady(): Promise<boolean> {
    return httpOk(`http://127.0.0.1:${this.options.httpPort}/readyz`).catch(() => false);
  }

  async start(): Promise<void> {
    await this.launch(
      async () => ({
        command: process.execPath,
        args: [join(REPO_ROOT, this.options.entry)],
        env: { ...process.env, SERVICE_ID: this.name, HOST: "127.0.0.1", ...this.options.env },
      }),
      { what: "/readyz", check: () => this.isReady(), timeoutMs: 60_000 },
    );
  }
}

const postgresUrl = (port: number, database: string, user: string, password: string) =>
  `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

/** The native stack's Jaeger (components/jaeger.ts), where both services send their spans. */
const otlpEndpoint = (settings: Settings) => `http://127.0.0.1:${settings.JAEGER_OTLP_HTTP_PORT}`;

export function serviceAInstance(
  settings: Settings,
  ports: { index: number; http: number; grpc: number },
): NodeService {
  const outbox = (user: string, password: string) => postgresUrl(settings.OUTBOX_DB_PORT, "outbox", user, password);
  return new NodeService(settings, {
    name: `service-a-${ports.index}`,
    entry: "service-a/dist/src/main.js",
    httpPort: ports.http,
    ports: [ports.http, ports.grpc],
    address: `127.0.0.1:${ports.http} (gRPC ${ports.grpc})`,
    env: {
      ...serviceSettingsEnv(settings, "service-a"),
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint(settings),
      HTTP_PORT: String(ports.http),
      GRPC_PORT: String(ports.grpc),
      DATABASE_URL: outbox("service_a", settings.SERVICE_A_DB_PASSWORD),
      MIGRATION_DATABASE_URL: outbox("outbox_owner", settings.OUTBOX_DB_OWNER_PASSWORD),
    },
  });
}

/** A service of ours that listens on one HTTP port, built to <name>/dist/src/main.js. */
function httpService(settings: Settings, name: string, port: number, env: Record<string, string>): NodeService {
  return new NodeService(settings, {
    name,
    entry: `${name}/dist/src/main.js`,
    httpPort: port,
    ports: [port],
    address: `http://127.0.0.1:${port}`,
    env,
  });
}

export function serviceB(settings: Settings): NodeService {
  return httpService(settings, "service-b", settings.SERVICE_B_PORT, {
    ...serviceSettingsEnv(settings, "service-b"),
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint(settings),
    HTTP_PORT: String(settings.SERVICE_B_PORT),
    KAFKA_BROKERS: `127.0.0.1:${settings.KAFKA_PORT}`,
    LEADER_DATABASE_URL: postgresUrl(settings.LEADER_DB_PORT, "totals", "service_b", settings.SERVICE_B_DB_PASSWORD),
    REPLICA_DATABASE_URL: postgresUrl(settings.REPLICA_DB_PORT, "totals", "service_b", settings.SERVICE_B_DB_PASSWORD),
    MIGRATION_DATABASE_URL: postgresUrl(
      settings.LEADER_DB_PORT,
      "totals",
      "totals_owner",
      settings.TOTALS_DB_OWNER_PASSWORD,
    ),
  });
}

/**
 * The reconciler's environment, for its daemon and for `make reconcile`'s one-shot check alike: its
 * own role on the outbox and on Service B's leader (the ids Service B applied are written there),
 * and Service B's retention of those ids, which bounds its window.
 */
export function reconcilerEnv(settings: Settings): Record<string, string> {
  return {
    ...serviceSettingsEnv(settings, "reconciler"),
    HTTP_PORT: String(settings.RECONCILER_PORT),
    OUTBOX_DATABASE_URL: postgresUrl(settings.OUTBOX_DB_PORT, "outbox", "reconciler", settings.RECONCILER_DB_PASSWORD),
    TOTALS_DATABASE_URL: postgresUrl(settings.LEADER_DB_PORT, "totals", "reconciler", settings.RECONCILER_DB_PASSWORD),
    KAFKA_BROKERS: `127.0.0.1:${settings.KAFKA_PORT}`,
    DEBEZIUM_SLOT: OUTBOX_SLOT,
    PROCESSED_RETENTION_DAYS: String(settings.SERVICE_B_PROCESSED_RETENTION_DAYS),
  };
}

export function reconciler(settings: Settings): NodeService {
  return httpService(settings, "reconciler", settings.RECONCILER_PORT, reconcilerEnv(settings));
}
