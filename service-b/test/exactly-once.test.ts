/**
 * Service B applies every event exactly once: 10,000 events with duplicates and poison, kill -9 in the
 * middle of batches then a restart, two instances with one killed half-way, and a burst of poison too
 * large for one dead-letter write; each time the total is exact and the dead-letter topic holds
 * exactly the poison. Service B runs as child processes (from source) against the project's Kafka
 * broker (global-setup.ts) and a real PostgreSQL leader and replica.
 */
import { DEAD_LETTER_HEADERS } from "@sum/contract";
import { waitFor } from "@sum/runtime";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type EventRecord, produce, sumEvent, uniqueNames } from "../support/events.js";
import { createTopics, type Databases, startDatabases } from "../support/harness.js";
import { ServiceBProcess, serviceEnv } from "../support/service-b-process.js";

const brokers = inject("kafkaBrokers");
let databases: Databases;

beforeAll(async () => {
  databases = await startDatabases();
});

afterAll(async () => {
  await databases?.destroy();
});

const random = (limit: number) => Math.floor(Math.random() * 2 * limit) - limit;

/** The ways a message can be poison, each labelled by its key. */
function poisonEvents(count: number): EventRecord[] {
  const makers: Array<(key: string) => EventRecord> = [
    (key) => ({ key, value: "not json {", headers: {} }),
    (key) => ({
      key,
      value: JSON.stringify({ ...JSON.parse(sumEvent(1, 2, key).value), a: undefined }),
      headers: { id: key },
    }),
    (key) => ({
      key,
      value: JSON.stringify({ ...JSON.parse(sumEvent(1, 2, key).value), b: "2" }),
      headers: { id: key },
    }),
    (key) => ({
      key,
      value: JSON.stringify({ ...JSON.parse(sumEvent(1, 2, key).value), result: 4 }),
      headers: { id: key },
    }),
    (key) => ({
      key,
      value: JSON.stringify({ ...JSON.parse(sumEvent(1, 2, key).value), a: 2 ** 60, result: 2 ** 60 + 2 }),
      headers: { id: key },
    }),
    (key) => ({
      key,
      value: JSON.stringify({ ...JSON.parse(sumEvent(1, 2, key).value), pad: "x".repeat(17_000) }),
      headers: { id: key },
    }),
    (key) => ({ key, value: sumEvent(1, 2, key).value, headers: { id: crypto.randomUUID() } }),
    (key) => ({ key, value: "[1, 2, 3]", headers: {} }),
  ];
  return Array.from({ length: count }, (_, i) =>
    (makers[i % makers.length] as (key: string) => EventRecord)(crypto.randomUUID()),
  );
}

/** `distinct` valid events, 10% of them sent twice, and 1% poison, shuffled. */
function workload(distinct: number) {
  const valid = Array.from({ length: distinct }, () => sumEvent(random(1e12), random(1e12)));
  const duplicates = valid.slice(0, Math.round(distinct / 10));
  const poison = poisonEvents(Math.round(distinct / 100));
  const all = [...valid, ...duplicates, ...poison].sort(() => Math.random() - 0.5);
  const expectedTotal = valid.reduce((sum, e) => sum + BigInt(JSON.parse(e.value).result), 0n);
  return { all, valid, poison, expectedTotal };
}

interface DeadLetter {
  key: string;
  valueBytes: number;
  headers: Record<string, string>;
}

async function readDlq(topic: string, expected: number): Promise<DeadLetter[]> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `dlq-reader-${Math.random()}` });
  const seen: DeadLetter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      seen.push({ key: message.key?.toString() ?? "", valueBytes: message.value?.length ?? 0, headers });
    },
  });
  await waitFor("the dead letters", async () => seen.length >= expected, 60_000);
  // Anything more would arrive within a moment; give it one.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await consumer.disconnect();
  return seen;
}

async function resetTotal() {
  await databases.leader.query("TRUNCATE processed_events, partition_totals", [], "totals").catch(() => undefined);
}

describe("Service B applies every event exactly once", () => {
  it("10,000 events with 10% duplicates and 1% poison: the total is exact and the DLQ holds exactly the poison", async () => {
    await resetTotal();
    const names = uniqueNames("exact");
    await createTopics(brokers, names);
    const { all, valid, poison, expectedTotal } = workload(10_000);
    await produce(brokers, names.topic, all);
    const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    try {
      await waitFor("all valid events applied", async () => (await service.total()).events_applied >= valid.length);
      const view = await service.total();
      expect(view.events_applied).toBe(valid.length);
      expect(view.total).toBe(expectedTotal.toString());
      const letters = await readDlq(names.dlq, poison.length);
      expect(letters.map((l) => l.key).sort()).toEqual(poison.map((p) => p.key).sort());
      for (const letter of letters) {
        expect(letter.headers[DEAD_LETTER_HEADERS.reason]).toBeTruthy();
        expect(letter.headers[DEAD_LETTER_HEADERS.sourcePartition]).toMatch(/^\d$/);
        expect(letter.headers[DEAD_LETTER_HEADERS.sourceOffset]).toMatch(/^\d+$/);
      }
      // Everything consumed: the lag gauge says 0 on every partition (it refreshes every 5 s).
      await waitFor(
        "the lag gauge to reach 0",
        async () => {
          const text = await (await fetch(`${service.url}/metrics`)).text();
          const lags = [...text.matchAll(/^service_b_consumer_lag\{partition="\d"\} (\d+)/gm)].map((m) => Number(m[1]));
          return lags.length === 6 && lags.every((lag) => lag === 0);
        },
        20_000,
      );
      // Slices of several partitions were applied side by side: the gauge still shows the whole total.
      const gauge = (await (await fetch(`${service.url}/metrics`)).text()).match(/^service_b_running_total (\S+)$/m);
      expect(Number(gauge?.[1])).toBe(Number(expectedTotal));
      const summation = await fetch(`${service.url}/api/summation`);
      expect(await summation.text()).toMatch(/^-?\d+$/);
    } finally {
      await service.stop();
    }
  });

  it("kill -9 in the middle of batches, then a restart: still exact", async () => {
    await resetTotal();
    const names = uniqueNames("kill");
    await createTopics(brokers, names);
    const { all, valid, expectedTotal } = workload(20_000);
    const first = await ServiceBProcess.start(serviceEnv(databases, brokers, names, { APPLY_SLICE_SIZE: "200" }));
    const producing = produce(brokers, names.topic, all);
    await waitFor("some events applied", async () => (await first.total()).events_applied > 2000);
    first.kill9();
    await producing;
    const applied = (
      await databases.leader.query<{ n: string }>("SELECT sum(events_applied) AS n FROM partition_totals", [], "totals")
    )[0]?.n;
    expect(Number(applied)).toBeLessThan(valid.length);
    const second = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    try {
      await waitFor("all valid events applied", async () => (await second.total()).events_applied >= valid.length);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const view = await second.total();
      expect(view.events_applied).toBe(valid.length);
      expect(view.total).toBe(expectedTotal.toString());
    } finally {
      await second.stop();
    }
  });

  it("two instances consuming at once, one killed half-way: still exact", async () => {
    await resetTotal();
    const names = uniqueNames("pair");
    await createTopics(brokers, names);
    const { all, valid, expectedTotal } = workload(20_000);
    const env = serviceEnv(databases, brokers, names, { APPLY_SLICE_SIZE: "200" });
    const [one, two] = await Promise.all([ServiceBProcess.start(env), ServiceBProcess.start(env)]);
    try {
      const producing = produce(brokers, names.topic, all);
      await waitFor("half the events applied", async () => (await one.total()).events_applied > valid.length / 2);
      one.kill9();
      await producing;
      await waitFor("all valid events applied", async () => (await two.total()).events_applied >= valid.length);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const view = await two.total();
      expect(view.events_applied).toBe(valid.length);
      expect(view.total).toBe(expectedTotal.toString());
    } finally {
      await two.stop();
    }
  });

  it("a burst of poison too large for one write to the dead-letter topic: valid events applied, all poison dead-lettered, every partition moves on", async () => {
    const names = uniqueNames("burst");
    // The dead-letter topic takes at most 64 KiB per write; the topic itself, the broker's 1 MiB.
    await createTopics(brokers, names, { dlqMaxMessageBytes: 64 * 1024 });
    const valid = Array.from({ length: 300 }, () => sumEvent(random(1e12), random(1e12)));
    // Some 100 KiB per partition: no slice's dead letters fit one write.
    const burst = Array.from({ length: 300 }, () => ({
      key: crypto.randomUUID(),
      value: `not json ${"y".repeat(2048)}`,
      headers: {},
    }));
    // Each alone over the limit: it can only be written cut short.
    const oversized = Array.from({ length: 6 }, () => ({
      key: crypto.randomUUID(),
      value: "x".repeat(100 * 1024),
      headers: {},
    }));
    const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
    try {
      const before = await service.total();
      await produce(
        brokers,
        names.topic,
        [...valid, ...burst, ...oversized].sort(() => Math.random() - 0.5),
      );
      await waitFor(
        "all valid events applied",
        async () => (await service.total()).events_applied >= before.events_applied + valid.length,
        60_000,
      );
      const view = await service.total();
      expect(view.events_applied).toBe(before.events_applied + valid.length);
      const added = valid.reduce((sum, e) => sum + BigInt(JSON.parse(e.value).result), 0n);
      expect(view.total).toBe((BigInt(before.total) + added).toString());

      const letters = await readDlq(names.dlq, burst.length + oversized.length);
      expect(letters.map((l) => l.key).sort()).toEqual([...burst, ...oversized].map((p) => p.key).sort());
      const oversizedKeys = new Set<string>(oversized.map((p) => p.key));
      for (const letter of letters) {
        expect(letter.headers[DEAD_LETTER_HEADERS.sourceTopic]).toBe(names.topic);
        if (oversizedKeys.has(letter.key)) {
          expect(letter.headers).toMatchObject({
            [DEAD_LETTER_HEADERS.truncated]: "true",
            [DEAD_LETTER_HEADERS.originalSize]: String(100 * 1024),
          });
          expect(letter.valueBytes).toBeLessThanOrEqual(1024);
        } else {
          expect(letter.headers[DEAD_LETTER_HEADERS.truncated]).toBeUndefined();
          expect(letter.valueBytes).toBe(2057);
        }
      }

      // Each partition's stored offset reaches its end: nothing is left blocked.
      const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(names.topic).finally(() => admin.disconnect());
      await waitFor("every partition's stored offset at its end", async () => {
        const stored = await databases.leader.query<{ partition: number; last_offset: string }>(
          "SELECT partition, last_offset FROM partition_totals WHERE topic = $1",
          [names.topic],
          "totals",
        );
        const storedBy = new Map(stored.map((row) => [row.partition, BigInt(row.last_offset)]));
        return ends.every((end) => BigInt(end.high) === 0n || storedBy.get(end.partition) === BigInt(end.high) - 1n);
      });
    } finally {
      await service.stop();
    }
  });
});
