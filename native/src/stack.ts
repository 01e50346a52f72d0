import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OUTBOX_SLOT, REPLICA_SLOT, REPLICATION_ROLE, SQL_FILES } from "@sum/postgres";
import type { Component } from "./components/component.js";
import { KafkaConnect } from "./components/connect.js";
import { Exporter } from "./components/exporter.js";
import { Jaeger } from "./components/jaeger.js";
import { KafkaBroker } from "./components/kafka.js";
import { Nginx } from "./components/nginx.js";
import { type NodeService, reconciler, serviceAInstance, serviceB } from "./components/node-service.js";
import { PostgresCluster } from "./components/postgres.js";
import { Prometheus } from "./components/prometheus.js";
import { PASSWORD_SETTINGS } from "./passwords.js";
import { portsHeld } from "./port-holders.js";
import { run, StackError } from "./process.js";
import { REPO_ROOT, type Settings, serviceAPorts } from "./settings.js";

/** The monitoring role (pg_monitor) postgres_exporter logs in as; on the leader it reaches the replica by replication. */
async function createExporterRole(cluster: PostgresCluster, password: string): Promise<void> {
  await cluster.psqlFile(SQL_FILES.exporterRole, { exporter_password: password });
}

/** Service A's database: logical WAL for Debezium, with a cap on what a dead slot may hold. */
function outboxDatabase(settings: Settings): PostgresCluster {
  return new PostgresCluster({
    name: "postgres-outbox",
    port: settings.OUTBOX_DB_PORT,
    settings,
    config: [
      "wal_level = logical",
      "max_wal_senders = 10",
      "max_replication_slots = 10",
      "max_slot_wal_keep_size = '2GB'",
      "max_connections = 200",
    ],
    // Debezium's logical replication connections are to the outbox database, which the first line
    // matches; no `replication` line, which would let it copy the whole cluster (pg_basebackup).
    hba: [
      "host outbox outbox_owner,service_a,debezium,reconciler 127.0.0.1/32 scram-sha-256",
      "host postgres exporter 127.0.0.1/32 scram-sha-256",
    ],
    // Roles, schema and the replication slot exist before any Service A starts, so no event can be
    // committed before Debezium's slot is there to keep it.
    initialise: async (cluster) => {
      await cluster.psqlFile(SQL_FILES.outboxDatabase, {
        owner_password: settings.OUTBOX_DB_OWNER_PASSWORD,
        service_password: settings.SERVICE_A_DB_PASSWORD,
        debezium_password: settings.DEBEZIUM_DB_PASSWORD,
        reconciler_password: settings.RECONCILER_DB_PASSWORD,
      });
      await run(process.execPath, [join(REPO_ROOT, "service-a", "dist", "src", "migrate-main.js")], {
        env: {
          ...process.env,
          MIGRATION_DATABASE_URL: cluster.url("outbox", "outbox_owner", settings.OUTBOX_DB_OWNER_PASSWORD),
        },
      });
      await cluster.psqlFile(SQL_FILES.outboxSlot, {}, "outbox");
      await createExporterRole(cluster, settings.EXPORTER_DB_PASSWORD);
    },
  });
}

/**
 * Debezium's slot as PostgreSQL sees it: `reserved`, `extended` or `unreserved` (still whole; see
 * pg_replication_slots), `lost` (invalidated: WAL it needed is gone), or `missing`.
 */
export async function outboxSlotState(outbox: PostgresCluster): Promise<string> {
  const [slot] = await outbox.query<{ wal_status: string | null }>(
    "SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1",
    [OUTBOX_SLOT],
    "outbox",
  );
  return slot ? (slot.wal_status ?? "unknown") : "missing";
}

/** Who may connect to Service B's leader, and so to its replica (which serves the same roles). */
const LEADER_HBA = [
  "host all all 127.0.0.1/32 scram-sha-256",
  "host replication replicator 127.0.0.1/32 scram-sha-256",
];

/** Service B's leader: streams its WAL to the replica through a physical slot, with a cap on what it may hold. */
function leaderDatabase(settings: Settings): PostgresCluster {
  return new PostgresCluster({
    name: "postgres-leader",
    port: settings.LEADER_DB_PORT,
    settings,
    config: [
      "wal_level = replica",
      "max_wal_senders = 10",
      "max_replication_slots = 10",
      "wal_keep_size = '256MB'",
      // A replica gone for good must not fill the leader's disk: past this its slot is given up (the
      // replica is then made again from a base backup). ReplicaSlotRetainingWAL warns at half of it.
      "max_slot_wal_keep_size = '2GB'",
    ],
    hba: LEADER_HBA,
    initialise: async (cluster) => {
      await cluster.psqlFile(SQL_FILES.totalsDatabase, {
        owner_password: settings.TOTALS_DB_OWNER_PASSWORD,
        service_password: settings.SERVICE_B_DB_PASSWORD,
        reconciler_password: settings.RECONCILER_DB_PASSWORD,
      });
      await cluster.psqlFile(SQL_FILES.replication, { replication_password: settings.REPLICATION_PASSWORD });
      await createExporterRole(cluster, settings.EXPORTER_DB_PASSWORD);
    },
  });
}

/** The leader's hot standby: a pg_basebackup of it, then streaming replication through its slot. */
function replicaDatabase(settings: Settings, leader: PostgresCluster): PostgresCluster {
  const name = "postgres-replica";
  return new PostgresCluster({
    name,
    port: settings.REPLICA_DB_PORT,
    settings,
    config: [],
    hba: LEADER_HBA,
    standby: {
      port: leader.port,
      user: REPLICATION_ROLE,
      password: settings.REPLICATION_PASSWORD,
      slot: REPLICA_SLOT,
      applicationName: name,
    },
  });
}

/** postgres_exporter for each PostgreSQL (slot queries on the primaries), and nginx's stub_status exporter. */
function exporters(settings: Settings): Exporter[] {
  const postgres = (name: string, port: number, dbPort: number, primary: boolean) =>
    new Exporter(
      settings,
      `postgres-exporter-${name}`,
      port,
      "prometheus-postgres-exporter",
      [
        `--web.listen-address=127.0.0.1:${port}`,
        ...(primary ? [`--extend.query-path=${join(REPO_ROOT, "prometheus", "postgres-queries.yml")}`] : []),
      ],
      {
        DATA_SOURCE_NAME: `postgresql://exporter:${encodeURIComponent(settings.EXPORTER_DB_PASSWORD)}@127.0.0.1:${dbPort}/postgres?sslmode=disable`,
      },
    );
  return [
    postgres("outbox", settings.POSTGRES_OUTBOX_EXPORTER_PORT, settings.OUTBOX_DB_PORT, true),
    postgres("leader", settings.POSTGRES_LEADER_EXPORTER_PORT, settings.LEADER_DB_PORT, true),
    postgres("replica", settings.POSTGRES_REPLICA_EXPORTER_PORT, settings.REPLICA_DB_PORT, false),
    new Exporter(settings, "nginx-exporter", settings.NGINX_EXPORTER_PORT, "prometheus-nginx-exporter", [
      `-nginx.scrape-uri=http://127.0.0.1:${settings.NGINX_STATUS_PORT}/stub_status`,
      `-web.listen-address=127.0.0.1:${settings.NGINX_EXPORTER_PORT}`,
    ]),
  ];
}

export interface Stack {
  components: Component[];
  outbox: PostgresCluster;
  leader: PostgresCluster;
  replica: PostgresCluster;
  kafka: KafkaBroker;
  connect: KafkaConnect;
  serviceA: NodeService[];
}

/** The components in start order; stop goes the other way. */
export function buildStack(settings: Settings, log: (line: string) => void): Stack {
  const outbox = outboxDatabase(settings);
  const leader = leaderDatabase(settings);
  const replica = replicaDatabase(settings, leader);
  const kafka = new KafkaBroker(settings, log);
  const connect = new KafkaConnect(settings, log);
  const serviceA = serviceAPorts(settings).map((ports) => serviceAInstance(settings, ports));
  return {
    components: [
      outbox,
      leader,
      replica,
      kafka,
      connect,
      new Jaeger(settings),
      serviceB(settings),
      reconciler(settings),
      ...serviceA,
      new Nginx(settings),
      ...exporters(settings),
      new Prometheus(settings),
    ],
    outbox,
    leader,
    replica,
    kafka,
    connect,
    serviceA,
  };
}

/**
 * A component's state as `make status` shows it. Ready only when the process answering is the one
 * this runner started: another one on its port (say a Service B left running from before a `make
 * clean`, connected to databases it never migrated) is no part of this stack, however it answers.
 */
export async function componentState(component: Component): Promise<string> {
  const running = await component.isRunning();
  if (await component.isReady()) {
    return running ? "ready" : `answering, but not started by this runner: ${portsHeld(component.ports).held}`;
  }
  return running ? "running, not ready" : "stopped";
}

/**
 * Starts each component that is not running and ready, in order; one running but not ready is
 * restarted. A component's ports answering for a process it did not start stop the start (see
 * componentState), naming that process.
 */
export async function startComponents(components: Component[], log: (line: string) => void): Promise<void> {
  for (const component of components) {
    if (await component.isRunning()) {
      if (await component.isReady()) continue;
      log(`${component.name} is running but not ready: restarting it`);
      await component.stop();
    } else if (await component.isReady()) {
      const { held, stop } = portsHeld(component.ports);
      throw new StackError(
        component.name,
        `${held}, which answers as ${component.name} but was not started by this runner (no pid file of ` +
          `this run directory names it); ${stop} and start again`,
      );
    }
    const t = Date.now();
    log(`starting ${component.name}`);
    await component.start();
    log(`${component.name} ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
}

/** The file in the run directory that records which passwords the stack last started with (a digest). */
const PASSWORDS_DIGEST = "passwords.sha256";

function passwordsDigest(settings: Settings): string {
  const values: Record<string, unknown> = settings;
  const lines = PASSWORD_SETTINGS.filter((name) => name in values).map((name) => `${name}=${String(values[name])}`);
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}

/**
 * Stops the components that run with other passwords than the settings' (the first ones generated,
 * one changed in .env since; a stack started before records none): each database takes its new ones
 * only at its start, and a service left running would keep the old ones, refused at its next login.
 */
export async function stopIfPasswordsChanged(
  settings: Settings,
  components: Component[],
  log: (line: string) => void,
): Promise<void> {
  const file = join(settings.RUN_DIR, PASSWORDS_DIGEST);
  if (existsSync(file) && readFileSync(file, "utf8").trim() === passwordsDigest(settings)) return;
  for (const component of [...components].reverse()) {
    if (!(await component.isRunning())) continue;
    log(`stopping ${component.name}: the passwords changed, and it takes them at its start`);
    await component.stop();
  }
}

/** Records the passwords the stack now runs with (see stopIfPasswordsChanged). */
export async function recordPasswords(settings: Settings): Promise<void> {
  await writeFile(join(settings.RUN_DIR, PASSWORDS_DIGEST), `${passwordsDigest(settings)}\n`, { mode: 0o600 });
}
