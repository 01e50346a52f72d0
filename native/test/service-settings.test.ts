import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENTS_TOPIC } from "@sum/contract";
import { waitFor } from "@sum/runtime";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { type NodeService, serviceAInstance, serviceB } from "../src/components/node-service.js";
import { loadSettings, REPO_ROOT, type Settings, serviceAPorts } from "../src/settings.js";
import { buildStack } from "../src/stack.js";

/**
 * A setting of each service, changed in a .env of the test's own, reaches the process the runner
 * starts: the test restarts one service with it, observes its effect in the service's metrics, and
 * restarts the service as the stack had it.
 */
const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sum-service-settings-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The stack's settings with `lines` added to its .env, read as the runner reads them. */
async function settingsWith(lines: string): Promise<Settings> {
  const dotenvFile = join(dir, ".env");
  const stackDotenv = await readFile(join(REPO_ROOT, ".env"), "utf8").catch(() => "");
  await writeFile(dotenvFile, `${stackDotenv}\n${lines}\n`);
  return loadSettings({ ...process.env, ...env }, dotenvFile);
}

async function restart(service: NodeService): Promise<void> {
  await service.stop();
  await service.start();
}

/** A histogram without labels on a /metrics page: how many observations were at most `le`, and in all. */
async function histogram(url: string, name: string) {
  const text = await (await fetch(url)).text();
  const value = (series: string) => Number(new RegExp(`^${series} (\\S+)$`, "m").exec(text)?.[1]);
  return {
    atMost: (le: number) => value(`${name}_bucket\\{le="${le}"\\}`),
    count: value(`${name}_count`),
    sum: value(`${name}_sum`),
  };
}

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
}

const sums = (url: string, count: number) =>
  Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const response = await fetch(`${url}/sum`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ a: i, b: 1 }),
      });
      return response.status;
    }),
  );

it("SERVICE_A_GROUP_COMMIT_MAX_BATCH=2 in .env caps the instance's transactions at 2 events", async () => {
  const [ports] = serviceAPorts(settings);
  if (!ports) throw new Error("the stack runs no Service A instance");
  const instance = `http://127.0.0.1:${ports.http}`;
  await restart(serviceAInstance(await settingsWith("SERVICE_A_GROUP_COMMIT_MAX_BATCH=2"), ports));
  // While a lock holds the outbox, the burst's first transactions (DB_POOL_SIZE - 1 at a time, of at
  // most 2 events) wait on it and the rest queue up; released, the queue leaves in transactions as
  // big as the setting allows (by default, 500).
  const burst = 64;
  const inBlockedTransactions = (settings.SERVICE_A_DB_POOL_SIZE - 1) * 2;
  const lock = new pg.Client({ connectionString: buildStack(settings, () => undefined).outbox.url("outbox") });
  await lock.connect();
  try {
    await lock.query("BEGIN");
    await lock.query("LOCK TABLE outbox IN SHARE MODE");
    const answers = sums(instance, burst);
    await waitFor(
      "the sums to queue up behind the lock",
      async () =>
        (await gauge(`${instance}/metrics`, "service_a_group_commit_queue_depth")) >= burst - inBlockedTransactions,
      5000,
    );
    await lock.query("COMMIT");
    expect(await answers).toEqual(Array(burst).fill(200));
    const batches = await histogram(`${instance}/metrics`, "service_a_group_commit_batch_size");
    expect(batches.sum).toBe(burst);
    expect(batches.atMost(2)).toBe(batches.count);
    expect(batches.atMost(1)).toBeLessThan(batches.count);
  } finally {
    await lock.end();
    await restart(serviceAInstance(settings, ports));
  }
});

it("SERVICE_B_APPLY_SLICE_SIZE=10 in .env cuts Service B's batches into slices of at most 10 events", async () => {
  const topic = EVENTS_TOPIC;
  const admin = new Kafka({ brokers: [`127.0.0.1:${settings.KAFKA_PORT}`], logLevel: logLevel.NOTHING }).admin();
  const eventsInKafka = async () =>
    (await admin.fetchTopicOffsets(topic)).reduce((total, partition) => total + Number(partition.high), 0);
  await admin.connect();
  try {
    // A backlog while Service B is stopped: 120 events over 6 partitions put 20 or more in one, which
    // the restarted Service B fetches in one batch (one slice, by default).
    const backlog = 120;
    await serviceB(settings).stop();
    const before = await eventsInKafka();
    expect(await sums(`http://127.0.0.1:${settings.NGINX_HTTP_PORT}`, backlog)).toEqual(Array(backlog).fill(200));
    await waitFor("Debezium to publish the backlog", async () => (await eventsInKafka()) >= before + backlog);

    await serviceB(await settingsWith("SERVICE_B_APPLY_SLICE_SIZE=10")).start();
    const metrics = `http://127.0.0.1:${settings.SERVICE_B_PORT}/metrics`;
    await waitFor(
      "Service B to apply the backlog",
      async () => (await histogram(metrics, "service_b_batch_size")).sum >= backlog,
    );
    const slices = await histogram(metrics, "service_b_batch_size");
    expect(slices.atMost(10)).toBe(slices.count);
    expect(slices.atMost(1)).toBeLessThan(slices.count);
  } finally {
    await admin.disconnect();
    await restart(serviceB(settings));
  }
});
