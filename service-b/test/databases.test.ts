/**
 * Service B with its databases failing: the leader stopped mid-stream (no offset committed past an
 * unapplied event, and an exact total after), the replica stopped or lagging (reads move to the leader
 * and back, the lag metric says why), the pruning of applied ids past their retention, and the upgrade
 * from the single running_total row. Service B runs as child processes (from source) against the
 * project's Kafka broker (global-setup.ts) and a real PostgreSQL leader with a streaming replica.
 */
import { readFileSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "@sum/pg-migrate";
import { waitFor } from "@sum/runtime";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MIGRATIONS_DIR } from "../src/paths.js";
import { appliedPosition, applyEvents, pruneProcessed, readTotal } from "../src/persistence/totals-store.js";
import { produce, sumEvent, uniqueNames } from "../support/events.js";
import { createTopics, type Databases, startDatabases } from "../support/harness.js";
import { PASSWORDS, ServiceBProcess, serviceEnv } from "../support/service-b-process.js";

const brokers = inject("kafkaBrokers");
const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
let databases: Databases;

beforeAll(async () => {
  databases = await startDatabases();
});

afterAll(async () => {
  await databases?.destroy();
});

async function committedOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** Every (partition, offset, key) of a topic, read from the beginning. */
async function topicContents(topic: string, expected: number) {
  const consumer = kafka.consumer({ groupId: `reader-${Math.random()}` });
  const seen: Array<{ partition: number; offset: bigint; key: string }> = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({ partition, offset: BigInt(message.offset), key: message.key?.toString() ?? "" });
    },
  });
  await waitFor("the whole topic", async () => seen.length >= expected, 60_000);
  await consumer.disconnect();
  return seen;
}

/** A metric's value as Service B's /metrics shows it (NaN included), or undefined if it is not there. */
async function metricValue(service: ServiceBProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const value = new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1];
  // prom-client writes NaN as "Nan"; Prometheus, like this, ignores case there.
  return value === undefined ? undefined : value.toLowerCase() === "nan" ? Number.NaN : Number(value);
}

/** The threshold of the ReplicaLagHigh alert, from prometheus/alerts.yml (promtool tests the rule itself). */
function replicaLagAlertSeconds(): number {
  const alerts = readFileSync(join(import.meta.dirname, "..", "..", "prometheus", "alerts.yml"), "utf8");
  const expr = /alert: ReplicaLagHigh\n\s+expr: (.+)/.exec(alerts)?.[1] ?? "";
  const threshold = /^service_b_replica_lag_seconds > (\d+)$/.exec(expr.trim())?.[1];
  if (threshold === undefined) throw new Error(`ReplicaLagHigh's expression is not a lag threshold: ${expr}`);
  return Number(threshold);
}

/** Stops (empty) or restarts the replica's WAL receiver, as a broken or mended network would. */
async function setPrimaryConninfo(conninfo: string): Promise<void> {
  await databases.replica.query(`ALTER SYSTEM SET primary_conninfo = '${conninfo.replaceAll("'", "''")}'`);
  await databases.replica.query("SELECT pg_reload_conf()");
  const streaming = async () =>
    Number((await databases.replica.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_wal_receiver"))[0]?.n) > 0;
  await waitFor(
    `the replica's WAL receiver ${conninfo ? "streaming" : "stopped"}`,
    async () => (await streaming()) === (conninfo !== ""),
    60_000,
  );
}

describe("Service B and its databases", () => {
  it("leader stopped for 10 s mid-stream: no offset is committed past an unapplied event, the replica's lag counts the silence, and it ends exact", async () => {
    const names = uniqueNames("leader");
    await createTopics(brokers, names);
    // A bound above the outage, so the replica still answers and its lag can be read.
    const service = await ServiceBProcess.start(
      serviceEnv(databases, brokers, names, { APPLY_SLICE_SIZE: "100", REPLICA_MAX_LAG_MS: "60000" }),
    );
    const events = Array.from({ length: 6000 }, (_, i) => sumEvent(i, 1));
    const expectedTotal = events.reduce((sum, e) => sum + BigInt(JSON.parse(e.value).result), 0n);
    try {
      await produce(brokers, names.topic, events.slice(0, 2000));
      await waitFor("some events applied", async () => (await service.total()).events_applied > 500);
      await databases.leader.stop();
      const producing = produce(brokers, names.topic, events.slice(2000));
      await new Promise((resolve) => setTimeout(resolve, 2000));

      // The replica holds exactly what the leader had committed when it stopped.
      const appliedIds = new Set(
        (
          await databases.replica.query<{ id: string }>(
            "SELECT event_id::text AS id FROM processed_events",
            [],
            "totals",
          )
        ).map((r) => r.id),
      );
      const committedEarly = await committedOffsets(names.group, names.topic);
      await new Promise((resolve) => setTimeout(resolve, 8000));
      const committedLate = await committedOffsets(names.group, names.topic);
      expect(committedLate).toEqual(committedEarly);
      const readyWhileDown = await fetch(`${service.url}/readyz`);
      expect(readyWhileDown.status).toBe(503);
      // The replica shows every beat the leader took before it stopped, yet 10 s have passed since
      // the last one: the answer may be that stale, and says so.
      const whileDown = await service.total("eventual");
      expect(whileDown.source).toBe("replica");
      expect(whileDown.replica_lag_seconds).toBeGreaterThanOrEqual(10);

      await producing;
      const contents = await topicContents(names.topic, events.length);
      const committedButUnapplied = contents.filter(
        (m) => m.offset < (committedLate.get(m.partition) ?? -1n) && !appliedIds.has(m.key),
      );
      expect(committedButUnapplied).toEqual([]);

      await databases.leader.start();
      await waitFor(
        "every event applied after the leader returned",
        async () => (await service.total()).events_applied >= events.length,
      );
      const view = await service.total();
      expect(view.events_applied).toBe(events.length);
      expect(view.total).toBe(expectedTotal.toString());
    } finally {
      await service.stop();
    }
  });

  it("replica stopped: reads come from the leader; replica back: from the replica again, with its lag", async () => {
    const names = uniqueNames("replica");
    await createTopics(brokers, names);
    const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    try {
      const appliedBefore = (await service.total("strong")).events_applied;
      const event = sumEvent(40, 2);
      expect((await fetch(`${service.url}/api/events/${event.key}?consistency=strong`)).status).toBe(404);
      await produce(brokers, names.topic, [event]);
      await waitFor("the event applied", async () => (await service.total("strong")).events_applied > appliedBefore);
      const before = (await service.total("strong")).total;
      const applied = await fetch(`${service.url}/api/events/${event.key}?consistency=strong`);
      expect(await applied.json()).toMatchObject({ event_id: event.key, result: 42 });
      expect((await fetch(`${service.url}/api/events/not-a-uuid`)).status).toBe(400);
      // Until the replica shows a heartbeat this instance sent, its lag is unknown and the leader answers.
      let fromReplica = await service.total("eventual");
      await waitFor(
        "the replica to catch up",
        async () => {
          fromReplica = await service.total("eventual");
          return fromReplica.source === "replica" && fromReplica.total === before;
        },
        30_000,
      );
      expect(typeof fromReplica.replica_lag_seconds).toBe("number");

      await databases.replica.stop();
      const fromLeader = await service.total("eventual");
      expect(fromLeader).toMatchObject({ source: "leader", replica_lag_seconds: null, total: before });
      const summation = await fetch(`${service.url}/api/summation`);
      expect(summation.status).toBe(200);
      expect(await summation.text()).toBe(before);
      // Unreachable is visible as such: no lag figure, rather than the last one.
      await waitFor(
        "service_b_replica_up 0 and service_b_replica_lag_seconds NaN on /metrics",
        async () =>
          (await metricValue(service, "service_b_replica_up")) === 0 &&
          Number.isNaN(await metricValue(service, "service_b_replica_lag_seconds")),
        30_000,
      );

      await databases.replica.start();
      await waitFor(
        "reads from the replica again",
        async () => (await service.total("eventual")).source === "replica",
        30_000,
      );
      expect((await service.total("eventual")).total).toBe(before);
      await waitFor("service_b_replica_up 1", async () => (await metricValue(service, "service_b_replica_up")) === 1);
    } finally {
      await service.stop();
    }
  });

  it("replica streaming stopped while sums flow: its lag grows past the bound and reads come from the leader; streaming again: from the replica", async () => {
    const names = uniqueNames("stale");
    await createTopics(brokers, names);
    const conninfo = (await databases.replica.query<{ primary_conninfo: string }>("SHOW primary_conninfo"))[0]
      ?.primary_conninfo as string;
    expect(conninfo).not.toBe("");
    const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names, { REPLICA_MAX_LAG_MS: "2000" }));
    const producer = kafka.producer();
    let flowing = true;
    // One sum every 200 ms for the whole test, so the leader moves on while the replica does not.
    const sums = (async () => {
      await producer.connect();
      for (let i = 0; flowing; i++) {
        await producer.send({ topic: names.topic, messages: [sumEvent(i, 1)] });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const strong = () => service.total("strong");
    try {
      await waitFor("reads from the replica", async () => (await service.total("eventual")).source === "replica");

      await setPrimaryConninfo("");
      const alertSeconds = replicaLagAlertSeconds();
      await waitFor(
        `service_b_replica_lag_seconds over ReplicaLagHigh's ${alertSeconds} s while sums flow`,
        async () => ((await metricValue(service, "service_b_replica_lag_seconds")) ?? 0) > alertSeconds,
        90_000,
      );
      expect(await metricValue(service, "service_b_replica_up")).toBe(1);
      // Reads are the leader's, and current: the replica's frozen total is not served as fresh.
      const current = await strong();
      const eventual = await service.total("eventual");
      expect(eventual.source).toBe("leader");
      expect(eventual.events_applied).toBeGreaterThanOrEqual(current.events_applied);
      const summation = BigInt(await (await fetch(`${service.url}/api/summation`)).text());
      expect(summation).toBeGreaterThanOrEqual(BigInt(current.total));
      const [frozen] = await databases.replica.query<{ total: string }>(
        "SELECT coalesce(sum(total), 0)::text AS total FROM partition_totals",
        [],
        "totals",
      );
      expect(BigInt(frozen?.total ?? "0")).toBeLessThan(summation);

      await setPrimaryConninfo(conninfo);
      await waitFor("reads from the replica again, as current as the leader", async () => {
        const expected = (await strong()).total;
        const view = await service.total("eventual");
        return view.source === "replica" && view.total === expected;
      });
    } finally {
      flowing = false;
      await sums.finally(() => producer.disconnect());
      await setPrimaryConninfo(conninfo);
      await service.stop();
    }
  });

  it("processed ids older than the retention are pruned in small batches, and the total does not move", async () => {
    const names = uniqueNames("prune");
    await createTopics(brokers, names);
    const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    await produce(
      brokers,
      names.topic,
      Array.from({ length: 25 }, (_, i) => sumEvent(i, i)),
    );
    await waitFor("25 events applied", async () => (await service.total()).events_applied >= 25, 60_000);
    await service.stop();
    const before = await databases.leader.query(
      "SELECT sum(total) AS total, sum(events_applied) AS events_applied FROM partition_totals",
      [],
      "totals",
    );
    const count = async () =>
      Number(
        (await databases.leader.query<{ n: string }>("SELECT count(*) AS n FROM processed_events", [], "totals"))[0]?.n,
      );
    const all = await count();
    await databases.leader.query(
      "UPDATE processed_events SET processed_at = now() - interval '8 days' WHERE event_id IN (SELECT event_id FROM processed_events LIMIT 20)",
      [],
      "totals",
    );
    // As the service's own role: its grants are enough.
    const pool = new pg.Pool({
      connectionString: databases.leader.url("totals", "service_b", PASSWORDS.service),
      max: 1,
    });
    try {
      const batches: number[] = [];
      for (let deleted = 8; deleted === 8; ) {
        deleted = await pruneProcessed(pool, 7 * 86_400, 8);
        batches.push(deleted);
      }
      expect(batches).toEqual([8, 8, 4]);
    } finally {
      await pool.end();
    }
    expect(await count()).toBe(all - 20);
    expect(
      await databases.leader.query(
        "SELECT sum(total) AS total, sum(events_applied) AS events_applied FROM partition_totals",
        [],
        "totals",
      ),
    ).toEqual(before);
  });

  it("the upgrade from the single running_total row keeps the total and the count; partitions add to them", async () => {
    await databases.leader.query("CREATE DATABASE totals_upgrade OWNER totals_owner");
    await databases.leader.query("GRANT CONNECT ON DATABASE totals_upgrade TO service_b");
    const ownerUrl = databases.leader.url("totals_upgrade", "totals_owner", PASSWORDS.owner);
    const firstOnly = await mkdtemp(join(tmpdir(), "service-b-migrations-"));
    const pool = new pg.Pool({
      connectionString: databases.leader.url("totals_upgrade", "service_b", PASSWORDS.service),
      max: 1,
    });
    try {
      await cp(join(MIGRATIONS_DIR, "001_totals.sql"), join(firstOnly, "001_totals.sql"));
      await migrate(ownerUrl, firstOnly);
      await databases.leader.query(
        "UPDATE running_total SET total = 123456789012345678901234567890, events_applied = 42, updated_at = '2024-01-02T03:04:05Z'",
        [],
        "totals_upgrade",
      );
      expect(await migrate(ownerUrl, MIGRATIONS_DIR)).toEqual([
        "002_partition_totals.sql",
        "003_replica_heartbeat.sql",
        "004_partition_log_identity.sql",
        "005_reconciler_reads.sql",
      ]);

      expect(await readTotal(pool)).toEqual({
        total: "123456789012345678901234567890",
        events_applied: "42",
        updated_at: new Date("2024-01-02T03:04:05Z"),
      });
      const event = {
        eventId: crypto.randomUUID(),
        a: 30,
        b: 10,
        result: 40,
        serviceId: "test",
        createdAt: new Date(),
      };
      const digest = Buffer.alloc(16, 7);
      await applyEvents(pool, [{ ...event, traceparent: undefined }], {
        topic: "t",
        partition: 3,
        offset: "7",
        digest,
      });
      expect(await readTotal(pool)).toMatchObject({ total: "123456789012345678901234567930", events_applied: "43" });
      expect(await appliedPosition(pool, "t", 3)).toEqual({ offset: 7n, digest, replacedLogEnd: null });
    } finally {
      await pool.end();
      await rm(firstOnly, { recursive: true, force: true });
    }
  });
});
