/**
 * Where Service B resumes each partition: from the applied positions it stores with the totals, not
 * from the group's committed offsets. Exactly once without the retention of applied ids, records deleted
 * before they were applied (that partition stops, loudly), a replaced Kafka log consumed from its start,
 * an event older than the window of remembered ids, and committed offsets kept as a hint for the lag.
 * Service B runs as child processes (from source) against the project's Kafka broker (global-setup.ts)
 * and real PostgreSQL.
 */
import { waitFor } from "@sum/runtime";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type EventRecord, produce, sumEvent, uniqueNames } from "../support/events.js";
import { createTopics, type Databases, startDatabases } from "../support/harness.js";
import { ServiceBProcess, serviceEnv } from "../support/service-b-process.js";

const brokers = inject("kafkaBrokers");
const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
let databases: Databases;

beforeAll(async () => {
  databases = await startDatabases();
});

afterAll(async () => {
  await databases?.destroy();
});

/** `count` events written to `partition`. */
function eventsTo(partition: number, count: number): EventRecord[] {
  return Array.from({ length: count }, (_, i) => ({ ...sumEvent(1000 * partition + i, 7), partition }));
}

/** `perPartition` events to each of the topic's 6 partitions. */
const eventsToEveryPartition = (perPartition: number) => [0, 1, 2, 3, 4, 5].flatMap((p) => eventsTo(p, perPartition));

const sumOf = (events: EventRecord[]) => events.reduce((sum, e) => sum + BigInt(JSON.parse(e.value).result), 0n);

async function withAdmin<T>(use: (admin: ReturnType<Kafka["admin"]>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** What pruning does to ids past the retention, to all of them at once. */
async function pruneEveryProcessedId(): Promise<void> {
  await databases.leader.query("DELETE FROM processed_events", [], "totals");
}

async function storedOffset(topic: string, partition: number): Promise<string | undefined> {
  const rows = await databases.leader.query<{ last_offset: string }>(
    "SELECT last_offset FROM partition_totals WHERE topic = $1 AND partition = $2",
    [topic, partition],
    "totals",
  );
  return rows[0]?.last_offset;
}

describe("Exactly once does not depend on the retention of processed ids", () => {
  // Short names: vitest cuts a $-interpolated value at 40 characters.
  it.each([
    { restart: "group reset to earliest", groupSuffix: "", reset: "earliest" },
    { restart: "group past unapplied events", groupSuffix: "", reset: "end" },
    { restart: "new KAFKA_GROUP_ID", groupSuffix: "-renamed", reset: "none" },
  ])("processed ids pruned, then a restart with $restart: each event is added once", async ({ groupSuffix, reset }) => {
    const names = uniqueNames("pruned");
    await createTopics(brokers, names);
    const first = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    const start = await first.total();
    const early = eventsToEveryPartition(10);
    let applied: Awaited<ReturnType<ServiceBProcess["total"]>>;
    try {
      await produce(brokers, names.topic, early);
      await waitFor(
        "the early events applied",
        async () => (await first.total()).events_applied >= start.events_applied + early.length,
      );
      applied = await first.total();
    } finally {
      await first.stop();
    }
    expect(applied.total).toBe((BigInt(start.total) + sumOf(early)).toString());

    await pruneEveryProcessedId();
    // Later events behind the early ones in every partition: once they are applied, the early ones were read again.
    const later = eventsToEveryPartition(2);
    await produce(brokers, names.topic, later);
    await withAdmin(async (admin) => {
      if (reset === "earliest") await admin.resetOffsets({ groupId: names.group, topic: names.topic, earliest: true });
      if (reset === "end") {
        const ends = await admin.fetchTopicOffsets(names.topic);
        const partitions = ends.map(({ partition, high }) => ({ partition, offset: high }));
        await admin.setOffsets({ groupId: names.group, topic: names.topic, partitions });
      }
    });
    const second = await ServiceBProcess.start(
      serviceEnv(databases, brokers, { ...names, group: names.group + groupSuffix }),
    );
    try {
      await waitFor(
        "the later events applied",
        async () => (await second.total()).events_applied >= applied.events_applied + later.length,
      );
      const view = await second.total();
      expect(view.events_applied).toBe(applied.events_applied + later.length);
      expect(view.total).toBe((BigInt(applied.total) + sumOf(later)).toString());
    } finally {
      await second.stop();
    }
  });

  it("records deleted from the topic before they were applied: that partition stops, loudly; the others go on", async () => {
    const names = uniqueNames("gap");
    await createTopics(brokers, names);
    const env = serviceEnv(databases, brokers, names);
    const first = await ServiceBProcess.start(env);
    const start = await first.total();
    const early = eventsToEveryPartition(5);
    let applied: Awaited<ReturnType<ServiceBProcess["total"]>>;
    try {
      await produce(brokers, names.topic, early);
      await waitFor(
        "the early events applied",
        async () => (await first.total()).events_applied >= start.events_applied + early.length,
      );
      applied = await first.total();
    } finally {
      await first.stop();
    }

    // While Service B is down, partition 0 gets offsets 5-14, and 5-9 are deleted (as retention would).
    const lost = eventsTo(0, 10);
    const elsewhere = eventsTo(1, 4);
    await produce(brokers, names.topic, [...lost, ...elsewhere]);
    await withAdmin(async (admin) => {
      await admin.fetchTopicMetadata({ topics: [names.topic] }); // deleteTopicRecords needs it loaded
      await admin.deleteTopicRecords({ topic: names.topic, partitions: [{ partition: 0, offset: "10" }] });
    });

    const second = await ServiceBProcess.start(env, { ready: false });
    try {
      await waitFor(
        "partition 1's events applied",
        async () => (await second.total()).events_applied >= applied.events_applied + elsewhere.length,
      );
      let readiness = "";
      await waitFor("/readyz to name the gap in partition 0", async () => {
        const response = await fetch(`${second.url}/readyz`);
        readiness = await response.text();
        return response.status === 503 && readiness.includes("partition 0");
      });
      expect(readiness).toContain(`partition 0 of ${names.topic}: applied through offset 4, but the log starts at 10`);
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      expect(metrics).toMatch(/^service_b_partition_gap\{partition="0"\} 1$/m);

      const view = await second.total();
      expect(view.events_applied).toBe(applied.events_applied + elsewhere.length);
      expect(view.total).toBe((BigInt(applied.total) + sumOf(elsewhere)).toString());
      expect(await storedOffset(names.topic, 0)).toBe("4");
      expect(await storedOffset(names.topic, 1)).toBe("8");
    } finally {
      await second.stop();
    }
  });
});

/** The topic deleted and created again, empty: what a broker's lost disk does to it too. */
async function recreateTopic(names: { topic: string; dlq: string }): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.deleteTopics({ topics: [names.topic] });
    await waitFor("the topic deleted", async () => !(await admin.listTopics()).includes(names.topic));
  });
  await createTopics(brokers, names);
}

const replacedAt = (metrics: string, partition: number) =>
  metrics.match(
    new RegExp(`^service_b_log_replaced_timestamp_seconds\\{partition="${partition}"\\} (\\S+)$`, "m"),
  )?.[1];

describe("A replaced Kafka log is consumed from its start, never skipped by offset", () => {
  /** Applies `perPartition` events to each partition of a new topic with one Service B; returns what it left. */
  async function appliedThenStopped(names: ReturnType<typeof uniqueNames>, perPartition: number) {
    await createTopics(brokers, names);
    const first = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    const start = await first.total();
    const early = eventsToEveryPartition(perPartition);
    try {
      await produce(brokers, names.topic, early);
      await waitFor(
        "the early events applied",
        async () => (await first.total()).events_applied >= start.events_applied + early.length,
      );
      return { early, applied: await first.total() };
    } finally {
      await first.stop();
    }
  }

  it.each([
    { newLog: "shorter than the old one", perPartition: 3 },
    { newLog: "longer than the old one", perPartition: 14 },
  ])(
    "the topic created again with a log $newLog: every new event is applied once, an old id again is not, and the replacement shows",
    async ({ perPartition }) => {
      const names = uniqueNames("replaced");
      const { early, applied } = await appliedThenStopped(names, 10);
      await recreateTopic(names);
      // The new log: fresh events, and one event applied from the old log (as a re-send would bring it).
      const fresh = eventsToEveryPartition(perPartition);
      const again = { ...(early[0] as EventRecord), partition: 1 };
      await produce(brokers, names.topic, [...fresh, again]);
      const second = await ServiceBProcess.start(serviceEnv(databases, brokers, names), { ready: false });
      try {
        await waitFor(
          "the new log's events applied",
          async () => (await second.total()).events_applied >= applied.events_applied + fresh.length,
        );
        // Each partition's last offset, from the log: a produce retried over the topic's recreation may write twice.
        const ends = await withAdmin((admin) => admin.fetchTopicOffsets(names.topic));
        const lastOffset = (partition: number) =>
          String(BigInt(ends.find((p) => p.partition === partition)?.high ?? "0") - 1n);
        await waitFor("the whole new log consumed", async () => (await storedOffset(names.topic, 1)) === lastOffset(1));
        const view = await second.total();
        expect(view.events_applied).toBe(applied.events_applied + fresh.length);
        expect(view.total).toBe((BigInt(applied.total) + sumOf(fresh)).toString());
        expect(await storedOffset(names.topic, 0)).toBe(lastOffset(0));
        const metrics = await (await fetch(`${second.url}/metrics`)).text();
        for (const partition of [0, 1, 2, 3, 4, 5]) {
          expect(Number(replacedAt(metrics, partition))).toBeGreaterThan(Date.now() / 1000 - 600);
        }
        const [row] = await databases.leader.query<{ log_replacements: number }>(
          "SELECT log_replacements FROM partition_totals WHERE topic = $1 AND partition = 0",
          [names.topic],
          "totals",
        );
        expect(row?.log_replacements).toBe(1);
        await waitFor(
          "/readyz ready once the new log is consumed",
          async () => (await fetch(`${second.url}/readyz`)).ok,
        );
      } finally {
        await second.stop();
      }
    },
  );

  it("while the new log is not yet applied, /readyz names the partition; ready once it is", async () => {
    const names = uniqueNames("catchup");
    const { applied } = await appliedThenStopped(names, 4);
    await recreateTopic(names);
    const fresh = eventsTo(2, 6);
    await produce(brokers, names.topic, fresh);
    // Applying fails (no privilege on the processed ids) until granted again; finding the replacement does not.
    await databases.leader.query("REVOKE INSERT ON processed_events FROM service_b", [], "totals");
    const second = await ServiceBProcess.start(serviceEnv(databases, brokers, names), { ready: false });
    try {
      let readiness = "";
      await waitFor("/readyz to name partition 2 catching up with its new log", async () => {
        const response = await fetch(`${second.url}/readyz`);
        readiness = await response.text();
        return response.status === 503 && /partition 2 \(to offset \d+\)/.test(readiness);
      });
      expect(readiness).toContain(`catching up with a replaced log of ${names.topic}`);
      await databases.leader.query("GRANT INSERT ON processed_events TO service_b", [], "totals");
      await waitFor("/readyz ready once the new log is applied", async () => (await fetch(`${second.url}/readyz`)).ok);
      const view = await second.total();
      expect(view.events_applied).toBe(applied.events_applied + fresh.length);
      expect(view.total).toBe((BigInt(applied.total) + sumOf(fresh)).toString());
    } finally {
      await databases.leader.query("GRANT INSERT ON processed_events TO service_b", [], "totals");
      await second.stop();
    }
  });

  it("the topic created again while Service B runs: the events of the new log are applied once", async () => {
    const names = uniqueNames("live");
    await createTopics(brokers, names);
    const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    try {
      const start = await service.total();
      const early = eventsToEveryPartition(8);
      await produce(brokers, names.topic, early);
      await waitFor(
        "the early events applied",
        async () => (await service.total()).events_applied >= start.events_applied + early.length,
      );
      await recreateTopic(names);
      const fresh = eventsToEveryPartition(3);
      await produce(brokers, names.topic, fresh);
      await waitFor(
        "the new log's events applied",
        async () => (await service.total()).events_applied >= start.events_applied + early.length + fresh.length,
      );
      const view = await service.total();
      expect(view.events_applied).toBe(start.events_applied + early.length + fresh.length);
      expect(view.total).toBe((BigInt(start.total) + sumOf(early) + sumOf(fresh)).toString());
    } finally {
      await service.stop();
    }
  });
});

describe("An event older than the window applied ids are remembered for", () => {
  it("stops its partition loudly and changes nothing; applied once the window is raised past its age", async () => {
    const names = uniqueNames("too-old");
    await createTopics(brokers, names);
    // A one-day window; an event created two days ago, as Debezium re-sending one after a long outage would bring it.
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    const before = { ...sumEvent(40, 2), partition: 3 };
    const old = { ...sumEvent(500, 5, crypto.randomUUID(), twoDaysAgo), partition: 3 };
    const after = { ...sumEvent(600, 6), partition: 3 };
    const elsewhere = eventsTo(4, 3);
    const env = serviceEnv(databases, brokers, names, { PROCESSED_RETENTION_DAYS: "1" });
    const first = await ServiceBProcess.start(env);
    const start = await first.total();
    try {
      await produce(brokers, names.topic, [before, ...elsewhere]);
      await waitFor("the first event of partition 3 applied", async () => (await storedOffset(names.topic, 3)) === "0");
      await produce(brokers, names.topic, [old, after]);
      let readiness = "";
      await waitFor("/readyz to name partition 3 and the event too old", async () => {
        const response = await fetch(`${first.url}/readyz`);
        readiness = await response.text();
        return response.status === 503 && readiness.includes("partition 3");
      });
      expect(readiness).toContain(`event ${JSON.parse(old.value).event_id} was created at ${twoDaysAgo.toISOString()}`);
      await waitFor("partition 4's events applied", async () => (await storedOffset(names.topic, 4)) === "2");
      const metrics = await (await fetch(`${first.url}/metrics`)).text();
      expect(metrics).toMatch(/^service_b_partition_too_old_event\{partition="3"\} 1$/m);
      // Nothing of partition 3 past the event before the old one; partition 4 went on.
      expect(await storedOffset(names.topic, 3)).toBe("0");
      const view = await first.total();
      expect(view.events_applied).toBe(start.events_applied + 1 + elsewhere.length);
      expect(view.total).toBe((BigInt(start.total) + sumOf([before, ...elsewhere])).toString());
    } finally {
      await first.stop();
    }

    const second = await ServiceBProcess.start({ ...env, PROCESSED_RETENTION_DAYS: "3" });
    try {
      await waitFor("the rest of partition 3 applied", async () => (await storedOffset(names.topic, 3)) === "2");
      const view = await second.total();
      expect(view.events_applied).toBe(start.events_applied + 3 + elsewhere.length);
      expect(view.total).toBe((BigInt(start.total) + sumOf([before, old, after, ...elsewhere])).toString());
    } finally {
      await second.stop();
    }
  });
});

describe("The group's committed offsets, a hint for the lag", () => {
  it("after the events are applied and Service B stops, each partition's committed offset is the one after its last applied event", async () => {
    const names = uniqueNames("commits");
    await createTopics(brokers, names);
    const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    const events = eventsToEveryPartition(40);
    try {
      const start = await service.total();
      await produce(brokers, names.topic, events);
      await waitFor(
        "the events applied",
        async () => (await service.total()).events_applied >= start.events_applied + events.length,
      );
    } finally {
      await service.stop();
    }
    const committed = await withAdmin((admin) => admin.fetchOffsets({ groupId: names.group, topics: [names.topic] }));
    const byPartition = Object.fromEntries(
      (committed[0]?.partitions ?? []).map(({ partition, offset }) => [partition, offset]),
    );
    for (const partition of [0, 1, 2, 3, 4, 5]) {
      expect(await storedOffset(names.topic, partition)).toBe("39");
      expect(byPartition[partition]).toBe("40");
    }
  });
});
