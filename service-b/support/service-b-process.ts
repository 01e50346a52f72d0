import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, sleep } from "@sum/runtime";
import type { TemporaryPostgres } from "@sum/test-support";

export const PASSWORDS = { owner: "totals-owner-test", service: "service-b-test", reconciler: "reconciler-test" };

export function serviceEnv(
  databases: { leader: TemporaryPostgres; replica: TemporaryPostgres },
  brokers: string[],
  names: { topic: string; dlq: string; group: string },
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    SERVICE_ID: "service-b-test",
    HTTP_PORT: "0",
    KAFKA_BROKERS: brokers.join(","),
    KAFKA_TOPIC: names.topic,
    KAFKA_DLQ_TOPIC: names.dlq,
    KAFKA_GROUP_ID: names.group,
    LEADER_DATABASE_URL: databases.leader.url("totals", "service_b", PASSWORDS.service),
    REPLICA_DATABASE_URL: databases.replica.url("totals", "service_b", PASSWORDS.service),
    MIGRATION_DATABASE_URL: databases.leader.url("totals", "totals_owner", PASSWORDS.owner),
    RETRY_MAX_BACKOFF_MS: "500",
    LOG_LEVEL: "error",
    KAFKA_SESSION_TIMEOUT_MS: "10000",
    ...overrides,
  };
}

/** Service B as a child process (so a test can kill -9 it), on a free port. */
export class ServiceBProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** Started and ready; `{ ready: false }` only waits for it to answer (for a test of why it is not ready). */
  static async start(env: Record<string, string>, { ready = true } = {}): Promise<ServiceBProcess> {
    const port = await freePort();
    // From source: workspace libraries through their "source" export, TypeScript through tsx.
    const child = spawn(
      process.execPath,
      ["--conditions=source", "--import", "tsx", join(import.meta.dirname, "..", "src", "main.ts")],
      {
        cwd: join(import.meta.dirname, "..", ".."),
        env: { ...process.env, ...env, HTTP_PORT: String(port) },
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    const service = new ServiceBProcess(child, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + 60_000;
    const awaited = ready ? "ready" : "answering";
    while (
      !(await fetch(`${service.url}/${ready ? "readyz" : "healthz"}`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (child.exitCode !== null) throw new Error(`service-b exited with ${child.exitCode} before it was ${awaited}`);
      if (Date.now() > deadline) throw new Error(`service-b was not ${awaited} in 60 s`);
      await sleep(200);
    }
    return service;
  }

  /** Whether the process has ended, on its own or by a signal (a V8 heap overflow aborts it). */
  hasEnded(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The most memory the process has held at once: its peak resident set (VmHWM), in bytes. */
  peakRss(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, "utf8");
    return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]) * 1024;
  }

  kill9(): void {
    this.child.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    if (this.hasEnded()) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }

  async total(
    consistency = "strong",
  ): Promise<{ total: string; events_applied: number; source: string; replica_lag_seconds: number | null }> {
    const response = await fetch(`${this.url}/api/total?consistency=${consistency}`);
    return (await response.json()) as any;
  }
}
