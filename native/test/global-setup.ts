import { chmod, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortBlock } from "@sum/runtime";
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { randomPasswords } from "../src/passwords.js";
import { stackCli } from "../src/stack-cli.js";

/**
 * Ports, a run directory and passwords unlike a developer's stack, so both can run at once; with every
 * password given, the runner writes none into the developer's .env.
 */
async function isolatedEnvironment(): Promise<Record<string, string>> {
  const runDir = await mkdtemp(join(tmpdir(), "sum-e2e-"));
  await chmod(runDir, 0o755);
  const ports = [
    "NGINX_HTTP_PORT",
    "NGINX_GRPC_PORT",
    "PROMETHEUS_PORT",
    "KAFKA_PORT",
    "KAFKA_CONTROLLER_PORT",
    "CONNECT_PORT",
    "KAFKA_METRICS_PORT",
    "CONNECT_METRICS_PORT",
    "OUTBOX_DB_PORT",
    "LEADER_DB_PORT",
    "REPLICA_DB_PORT",
    "SERVICE_B_PORT",
    "RECONCILER_PORT",
    "POSTGRES_OUTBOX_EXPORTER_PORT",
    "POSTGRES_LEADER_EXPORTER_PORT",
    "POSTGRES_REPLICA_EXPORTER_PORT",
    "NGINX_STATUS_PORT",
    "NGINX_EXPORTER_PORT",
    "JAEGER_QUERY_PORT",
    "JAEGER_QUERY_GRPC_PORT",
    "JAEGER_OTLP_GRPC_PORT",
    "JAEGER_OTLP_HTTP_PORT",
  ];
  // Service A's instances take consecutive HTTP ports from +100 and gRPC ports from +150 in the block.
  const first = await freePortBlock(ports.length);
  const env: Record<string, string> = { RUN_DIR: runDir, ...randomPasswords() };
  ports.forEach((name, i) => {
    env[name] = String(first + i);
  });
  env.SERVICE_A_HTTP_PORT_BASE = String(first + 100);
  env.SERVICE_A_GRPC_PORT_BASE = String(first + 150);
  // Service B paused past this is judged by what Kafka held (proof/test/reconciler.test.ts); the
  // default, 10 min, would make that test wait as long.
  env.RECONCILE_APPLY_WAIT_SECONDS = "30";
  return env;
}

declare module "vitest" {
  export interface ProvidedContext {
    stackEnv: Record<string, string>;
  }
}

export default async function setup(project: TestProject) {
  const env = await isolatedEnvironment();
  await stackCli(env, "start");
  project.provide("stackEnv", env);
  return async () => {
    await stackCli(env, "clean");
  };
}
