/** The faults make test-chaos brings about: kill -9 of each component, and long faults under load. */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEAD_LETTER_TOPIC, EVENTS_TOPIC } from "@sum/contract";
import { componentPid, REPO_ROOT, type Settings } from "@sum/native/settings";
import { buildStack } from "@sum/native/stack";
import { Kafka, logLevel } from "kafkajs";

/** The crashes, in order: each is a kill -9 of one component, then `make start`. */
export const CRASHES = [
  "service-a-1",
  "service-b",
  "reconciler",
  "kafka-connect",
  "kafka",
  "postgres-replica",
  "postgres-leader",
  "postgres-outbox",
] as const;

/**
 * The long faults, after the crashes: a component stopped for `longDownMs` under load (Kafka Connect
 * with a small cap on its slot's WAL, so Service A's backpressure engages), the replica's stream
 * stopped as long, and a burst of poison messages in the topic.
 */
export const LONG_FAULTS = ["kafka-connect down", "kafka down", "replica stream stopped", "poison burst"] as const;

export type LongFaultName = (typeof LONG_FAULTS)[number];

/** Poison messages in the burst: Service B must dead-letter every one and move on. */
export const POISON_BURST = 500;

/** kill -9 of a component: its recorded pid; for PostgreSQL the postmaster and every backend, as a crash would. */
export function killComponent(settings: Settings, name: string): void {
  const pid = componentPid(settings, name);
  if (pid === undefined) throw new Error(`${name}: no pid file in ${settings.RUN_DIR}`);
  if (name.startsWith("postgres-")) {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    process.kill(pid, "SIGKILL");
    for (const child of children) {
      try {
        process.kill(Number(child), "SIGKILL");
      } catch {
        // already gone
      }
    }
  } else {
    process.kill(pid, "SIGKILL");
  }
}

/** `make start` for the same stack: starts what is down, waits until it is ready. */
export function restartStack(env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(REPO_ROOT, "native", "src", "cli.ts"), "start"],
      { env, cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`make start failed:\n${output}`))));
  });
}

/** Brings a long fault about; resolves with what ends it. */
export type LongFault = () => Promise<() => Promise<void>>;

/** What the long faults take from a chaos run's options. */
export interface LongFaultOptions {
  /** The cap on Debezium's slot's WAL while Kafka Connect is down (max_slot_wal_keep_size). */
  smallSlotCap: string;
}

export function longFaults(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  options: LongFaultOptions,
): Record<string, LongFault> {
  const stack = buildStack(settings, () => undefined);
  const setSlotCap = async (cap: string) => {
    await stack.outbox.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '${cap}'`);
    await stack.outbox.query("SELECT pg_reload_conf()");
  };
  const setPrimaryConninfo = async (conninfo: string) => {
    await stack.replica.query(`ALTER SYSTEM SET primary_conninfo = '${conninfo.replaceAll("'", "''")}'`);
    await stack.replica.query("SELECT pg_reload_conf()");
  };
  return {
    "kafka-connect down": async () => {
      await setSlotCap(options.smallSlotCap);
      await stack.connect.stop();
      return async () => {
        await restartStack(env);
        await setSlotCap("2GB");
      };
    },
    "kafka down": async () => {
      await stack.kafka.stop();
      return () => restartStack(env);
    },
    "replica stream stopped": async () => {
      const [{ primary_conninfo: conninfo } = { primary_conninfo: "" }] = await stack.replica.query<{
        primary_conninfo: string;
      }>("SHOW primary_conninfo");
      await setPrimaryConninfo("");
      return () => setPrimaryConninfo(conninfo);
    },
    "poison burst": async () => {
      const producer = new Kafka({
        brokers: [`127.0.0.1:${settings.KAFKA_PORT}`],
        logLevel: logLevel.NOTHING,
      }).producer();
      await producer.connect();
      const poison = Array.from({ length: POISON_BURST }, (_, i) => ({
        key: `poison-${i}`,
        value: i % 2 === 0 ? `{"not": "a sum event", "n": ${i}}` : "x".repeat(8000 + i),
      }));
      await producer.send({ topic: EVENTS_TOPIC, messages: poison });
      await producer.disconnect();
      return async () => undefined;
    },
  };
}

/** Messages in the dead-letter topic so far (Service B's own counter starts again at each restart). */
export async function deadLettered(kafka: string): Promise<number> {
  const admin = new Kafka({ brokers: [kafka], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(DEAD_LETTER_TOPIC);
    return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  } finally {
    await admin.disconnect();
  }
}
