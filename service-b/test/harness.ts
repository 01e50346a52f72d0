import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { EVENT_HEADERS, encodeSumCalculated, SUM_CALCULATED } from "@sum/contract";
import { createTopicsAndWait } from "@sum/native/kafka";
import { freePort, TemporaryPostgres } from "@sum/test-support";

export { waitFor } from "@sum/test-support";

import { Kafka, logLevel, type Producer } from "kafkajs";
import { BOOTSTRAP_SQL } from "../src/paths.js";

export const PASSWORDS = { owner: "totals-owner-test", service: "service-b-test" };

export interface Databases {
  leader: TemporaryPostgres;
  replica: TemporaryPostgres;
  destroy(): Promise<void>;
}

/** A real leader, set up as the stack sets it up, and its streaming replica through a capped slot. */
export async function startDatabases(): Promise<Databases> {
  const leader = await TemporaryPostgres.start({
    settings: ["max_wal_senders = 10", "max_slot_wal_keep_size = '2GB'"],
  });
  await leader.psqlFile(BOOTSTRAP_SQL, { owner_password: PASSWORDS.owner, service_password: PASSWORDS.service });
  const replica = await leader.startReplica({ slot: "replica_slot" });
  return {
    leader,
    replica,
    async destroy() {
      await replica.destroy();
      await leader.destroy();
    },
  };
}

export function serviceEnv(
  databases: Databases,
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
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return service;
  }

  kill9(): void {
    this.child.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
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

export interface TestEvent {
  /** Where to write it; by default, by its key. */
  partition?: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** A contract-shaped event; `poison` bends it the way a bad producer would. */
export function sumEvent(a: number, b: number, eventId: string = crypto.randomUUID()): TestEvent {
  const value = encodeSumCalculated({ eventId, a, b, result: a + b, serviceId: "test", createdAt: new Date() });
  return {
    key: eventId,
    value,
    headers: { [EVENT_HEADERS.eventId]: eventId, [EVENT_HEADERS.eventType]: SUM_CALCULATED },
  };
}

export async function produce(brokers: string[], topic: string, events: TestEvent[]): Promise<void> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const producer: Producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < events.length; i += 1000) {
    await producer.send({ topic, messages: events.slice(i, i + 1000) });
  }
  await producer.disconnect();
}

export const uniqueNames = (prefix: string) => {
  const suffix = Math.random().toString(36).slice(2, 8);
  return { topic: `${prefix}-${suffix}`, dlq: `${prefix}-${suffix}.dlq`, group: `service-b-${prefix}-${suffix}` };
};

/**
 * The test's own topic (6 partitions, as user-events) and its dead-letter topic (with a lower
 * `max.message.bytes` if asked); resolves once every partition has a leader.
 */
export async function createTopics(
  brokers: string[],
  names: { topic: string; dlq: string },
  { dlqMaxMessageBytes }: { dlqMaxMessageBytes?: number } = {},
): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [
      { topic: names.topic, numPartitions: 6, replicationFactor: 1 },
      {
        topic: names.dlq,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries:
          dlqMaxMessageBytes === undefined ? [] : [{ name: "max.message.bytes", value: String(dlqMaxMessageBytes) }],
      },
    ]);
  } finally {
    await admin.disconnect();
  }
}
