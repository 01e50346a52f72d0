import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderFile } from "@sum/native/render";
import { REPO_ROOT } from "@sum/native/settings";
import { parse } from "yaml";

export const COMPOSE_DIR = join(REPO_ROOT, "docker-compose");
export const COMPOSE_FILE = join(COMPOSE_DIR, "docker-compose.yml");
/** Git-ignored; docker-compose.yml mounts the files from here. */
export const RENDERED_DIR = join(COMPOSE_DIR, "rendered");

/**
 * The ports the components listen on inside their containers (docker-compose.yml sets the same);
 * .env changes only the host ports Compose publishes them on.
 */
const PORT = {
  serviceAHttp: 8081,
  serviceAGrpc: 50052,
  serviceB: 8082,
  reconciler: 8084,
  nginxHttp: 8090,
  nginxGrpc: 50051,
  nginxStatus: 8099,
  nginxExporter: 9113,
  postgres: 5432,
  postgresExporter: 9187,
  prometheus: 9090,
  kafkaMetrics: 9404,
  connectMetrics: 9405,
};

/** The Service A instances docker-compose.yml defines (service-a-1, service-a-2, ...). */
export async function serviceAInstances(composeFile = COMPOSE_FILE): Promise<string[]> {
  const compose = parse(await readFile(composeFile, "utf8"), { merge: true }) as { services: Record<string, unknown> };
  return Object.keys(compose.services).filter((name) => /^service-a-\d+$/.test(name));
}

/**
 * Fills the templates the native stack also renders (nginx/nginx.conf, prometheus/prometheus.yml,
 * debezium/outbox-connector.json) with Compose's service names and container ports, and writes them
 * to `outDir`. Returns the files written. They hold no secret: the connector's password is Kafka
 * Connect's ${env:DEBEZIUM_DB_PASSWORD}, read from the worker's environment.
 */
export async function renderComposeConfig(outDir = RENDERED_DIR): Promise<string[]> {
  const instances = await serviceAInstances();
  const upstream = (port: number) => instances.map((name) => `server ${name}:${port} max_fails=0;`).join(" ");
  const files: Array<{ name: string; template: string; values: Record<string, string | number> }> = [
    {
      name: "nginx.conf",
      template: join(REPO_ROOT, "nginx", "nginx.conf"),
      values: {
        NGINX_PID_FILE: "/run/nginx.pid",
        // The image links these logs to the container's stderr and creates the temp directory.
        NGINX_LOG_DIR: "/var/log/nginx",
        NGINX_TEMP_DIR: "/var/cache/nginx",
        NGINX_LISTEN_HOST: "0.0.0.0",
        NGINX_HTTP_PORT: PORT.nginxHttp,
        NGINX_GRPC_PORT: PORT.nginxGrpc,
        NGINX_STATUS_LISTEN: PORT.nginxStatus,
        SERVICE_A_HTTP_SERVERS: upstream(PORT.serviceAHttp),
        SERVICE_A_GRPC_SERVERS: upstream(PORT.serviceAGrpc),
      },
    },
    {
      name: "prometheus.yml",
      template: join(REPO_ROOT, "prometheus", "prometheus.yml"),
      values: {
        SERVICE_A_METRICS_TARGETS: JSON.stringify(instances.map((name) => `${name}:${PORT.serviceAHttp}`)),
        SERVICE_B_METRICS_TARGET: `service-b:${PORT.serviceB}`,
        RECONCILER_METRICS_TARGET: `reconciler:${PORT.reconciler}`,
        PROMETHEUS_TARGET: `prometheus:${PORT.prometheus}`,
        POSTGRES_OUTBOX_EXPORTER_TARGET: `postgres-exporter-outbox:${PORT.postgresExporter}`,
        POSTGRES_LEADER_EXPORTER_TARGET: `postgres-exporter-leader:${PORT.postgresExporter}`,
        POSTGRES_REPLICA_EXPORTER_TARGET: `postgres-exporter-replica:${PORT.postgresExporter}`,
        NGINX_EXPORTER_TARGET: `nginx-exporter:${PORT.nginxExporter}`,
        PROMETHEUS_RULE_FILE: "/etc/prometheus/alerts.yml",
        KAFKA_METRICS_TARGET: `kafka:${PORT.kafkaMetrics}`,
        CONNECT_METRICS_TARGET: `kafka-connect:${PORT.connectMetrics}`,
      },
    },
    {
      name: "outbox-connector.json",
      template: join(REPO_ROOT, "debezium", "outbox-connector.json"),
      values: {
        OUTBOX_DB_HOST: "postgres-outbox",
        OUTBOX_DB_PORT: PORT.postgres,
        DEBEZIUM_DB_USER: "debezium",
      },
    },
  ];
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const file of files) {
    const path = join(outDir, file.name);
    // Readable by all: the containers read them as their own unprivileged users.
    await writeFile(path, await renderFile(file.template, file.values), { mode: 0o644 });
    written.push(path);
  }
  return written;
}
