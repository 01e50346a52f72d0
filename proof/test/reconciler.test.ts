import { rm } from "node:fs/promises";
import { EVENTS_TOPIC, TOPICS } from "@sum/contract";
import { kafkaClient } from "@sum/native/kafka";
import { readPid } from "@sum/native/process";
import { loadSettings, paths } from "@sum/native/settings";
import { buildStack } from "@sum/native/stack";
import { stackCli } from "@sum/native/stack-cli";
import { createTopicsAndWait, waitFor } from "@sum/runtime";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { type Acknowledged, inParallel, PipelineClient, stackEndpoints } from "../src/clients.js";
import { killComponent, restartStack } from "../src/faults.js";

// The reconciler on the whole native stack, with its defaults (a minute's grace, a pass every 10 s)
// but for RECONCILE_APPLY_WAIT_SECONDS, which the test stack sets to 30 s (global-setup.ts).

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });
const stack = buildStack(settings, () => undefined);
const client = new PipelineClient(stackEndpoints(settings));
/** From the sums' restart or fault to each of them in the total: the issue's bound. */
const FOUND_AND_APPLIED_MS = 180_000;

afterAll(() => client.close());

/** One of the reconciler's metrics, as it exports it now. */
async function reconcilerMetric(name: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${settings.RECONCILER_PORT}/metrics`);
  const line = (await response.text()).split("\n").find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`the reconciler does not export ${name}`);
  return Number(line.split(" ")[1]);
}

async function sums(count: number, b: number): Promise<Acknowledged[]> {
  return inParallel(
    Array.from({ length: count }, (_, i) => i),
    16,
    (i) => client.sumUntilAcknowledged(i, b),
  );
}

const sumOf = (acks: Acknowledged[]) => acks.reduce((sum, ack) => sum + ack.result, 0n);

async function allApplied(acks: Acknowledged[], timeoutMs: number): Promise<void> {
  const pending = new Set(acks.map((ack) => ack.eventId));
  await waitFor(
    `${acks.length} acknowledged sums applied`,
    async () => {
      for (const id of [...pending]) if ((await client.appliedResult(id)) !== undefined) pending.delete(id);
      return pending.size === 0;
    },
    timeoutMs,
  );
}

/**
 * Deletes applied events from the totals database as a bug would: their ids and their share of the
 * total gone, as if never applied.
 */
async function loseFromTotals(acks: Acknowledged[]): Promise<void> {
  await stack.leader.query(
    `WITH gone AS (DELETE FROM processed_events WHERE event_id = ANY($1::uuid[]) RETURNING result)
     UPDATE partition_totals
        SET total = total - (SELECT coalesce(sum(result), 0) FROM gone),
            events_applied = events_applied - (SELECT count(*) FROM gone)
      WHERE topic = $2 AND partition = (SELECT min(partition) FROM partition_totals WHERE topic = $2)`,
    [acks.map((ack) => ack.eventId), EVENTS_TOPIC],
    "totals",
  );
}

/** Each of `acks` applied once: the total moved by their results, the count by their number. */
async function expectAppliedOnce(before: { total: bigint; eventsApplied: number }, acks: Acknowledged[]) {
  const after = await client.settledTotal();
  expect(after.total - before.total).toBe(sumOf(acks));
  expect(after.eventsApplied - before.eventsApplied).toBe(acks.length);
}

describe("the reconciler", () => {
  beforeEach(async () => {
    // Whatever an earlier test left to repair is repaired before this one counts.
    await waitFor(
      "the reconciler to find nothing missing",
      async () =>
        (await reconcilerMetric("reconciler_missing_events").catch(() => 1)) === 0 &&
        (await reconcilerMetric("reconciler_late_events").catch(() => 1)) === 0,
      FOUND_AND_APPLIED_MS,
    );
  });

  it("finds events deleted from the totals database (a simulated bug), sends them again, and each is applied once", async () => {
    const before = await client.settledTotal();
    const resentBefore = await reconcilerMetric("reconciler_resent_events_total");
    const acks = await sums(40, 11);
    await allApplied(acks, 60_000);
    const lost = acks.slice(0, 7);
    await loseFromTotals(lost);
    expect((await client.total()).total - before.total).toBe(sumOf(acks) - sumOf(lost));

    await allApplied(lost, FOUND_AND_APPLIED_MS);
    await expectAppliedOnce(before, acks);
    expect((await reconcilerMetric("reconciler_resent_events_total")) - resentBefore).toBeGreaterThanOrEqual(7);
  });

  it("Kafka's disk lost with sums Service B had not applied, and sums acknowledged while Kafka was down: each is in the total once within 3 minutes", async () => {
    const before = await client.settledTotal();
    const serviceB = stack.components.find((component) => component.name === "service-b");
    if (serviceB === undefined) throw new Error("no service-b in the stack");

    // Service B stopped: these sums reach Kafka, and Debezium confirms them, but none is applied.
    await serviceB.stop();
    const inKafkaOnly = await sums(20, 1000);
    const [{ lsn } = { lsn: "" }] = await stack.outbox.query<{ lsn: string }>(
      "SELECT pg_current_wal_lsn()::text AS lsn",
    );
    await waitFor("Debezium to confirm the sums to Kafka", async () => {
      const [slot] = await stack.outbox.query<{ done: boolean }>(
        "SELECT confirmed_flush_lsn >= $1::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = 'outbox_slot'",
        [lsn],
      );
      return slot?.done === true;
    });
    // Kafka down (and Connect, whose offsets are on it): sums are still acknowledged, into the outbox.
    await stack.connect.stop();
    await stack.kafka.stop();
    const whileKafkaDown = await sums(10, 2000);
    await rm(paths(settings).data("kafka"), { recursive: true, force: true });
    await restartStack({ ...process.env, ...env });

    await allApplied([...inKafkaOnly, ...whileKafkaDown], FOUND_AND_APPLIED_MS);
    await expectAppliedOnce(before, [...inKafkaOnly, ...whileKafkaDown]);
  });

  it("user-events deleted and created again while sums flow: each acknowledged sum is in the total once within 3 minutes", async () => {
    const before = await client.settledTotal();
    const acks: Acknowledged[] = [];
    let flowing = true;
    const flow = (async () => {
      for (let i = 0; flowing; i++) acks.push(await client.sumUntilAcknowledged(i, 3));
    })();
    await waitFor("sums to flow", async () => acks.length >= 20);

    const admin = kafkaClient(settings, "reconciler-test").admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [EVENTS_TOPIC] });
      await waitFor("the topic to be gone", async () => !(await admin.listTopics()).includes(EVENTS_TOPIC));
      const countAtDeletion = acks.length;
      await createTopicsAndWait(
        admin,
        TOPICS.filter((topic) => topic.topic === EVENTS_TOPIC),
      );
      await waitFor("sums to flow into the new topic", async () => acks.length >= countAtDeletion + 20);
    } finally {
      flowing = false;
      await flow;
      await admin.disconnect();
    }

    await allApplied(acks, FOUND_AND_APPLIED_MS);
    await expectAppliedOnce(before, acks);
  });

  it("a late event (Service B paused past the grace period) is sent again, and applied once", async () => {
    const before = await client.settledTotal();
    const duplicatesBefore = await serviceBDuplicates();
    const resentBefore = await reconcilerMetric("reconciler_resent_events_total");
    const pid = readPid(paths(settings).pid("service-b"));
    if (pid === undefined) throw new Error("service-b has no pid file");
    process.kill(pid, "SIGSTOP");
    let acks: Acknowledged[];
    try {
      acks = await sums(10, 5);
      await waitFor(
        "the reconciler to send the late sums again",
        async () => (await reconcilerMetric("reconciler_resent_events_total")) - resentBefore >= acks.length,
        FOUND_AND_APPLIED_MS,
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await allApplied(acks, FOUND_AND_APPLIED_MS);
    await expectAppliedOnce(before, acks);
    // The originals and the re-sends both reached Service B: one of each pair was skipped by id.
    await waitFor(
      "Service B to skip the re-sent copies",
      async () => (await serviceBDuplicates()) - duplicatesBefore >= acks.length,
      60_000,
    );
  });

  it("the reconciler killed -9 while it repairs: nothing is applied twice, and the rest is repaired after its restart", async () => {
    const before = await client.settledTotal();
    const acks = await sums(2500, 13);
    await allApplied(acks, FOUND_AND_APPLIED_MS);
    await loseFromTotals(acks);
    const ids = acks.map((ack) => ack.eventId);
    await waitFor(
      "the reconciler's first re-sends",
      async () => {
        const [row] = await stack.outbox.query<{ resent: number }>(
          "SELECT count(*)::int AS resent FROM outbox_resends WHERE event_id = ANY($1::uuid[])",
          [ids],
          "outbox",
        );
        return (row?.resent ?? 0) > 0;
      },
      FOUND_AND_APPLIED_MS,
    );
    killComponent(settings, "reconciler");
    await restartStack({ ...process.env, ...env });

    await allApplied(acks, FOUND_AND_APPLIED_MS);
    await expectAppliedOnce(before, acks);
  });

  it("make reconcile checks the whole window: a line per minute, and exit 0 with nothing missing", async () => {
    const output = await stackCli(env, "reconcile");
    expect(output).toMatch(/minute \(UTC\) +acknowledged +applied +missing +late +re-sent/);
    expect(output).toMatch(/^\d+ minutes, \d+ acknowledged: 0 missing/m);
  });
});

async function serviceBDuplicates(): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${settings.SERVICE_B_PORT}/metrics`);
  const line = (await response.text()).split("\n").find((l) => l.startsWith("service_b_events_duplicate_total "));
  return Number(line?.split(" ")[1] ?? 0);
}
