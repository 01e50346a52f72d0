import { waitFor } from "@sum/runtime";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { produce, sumEvent, uniqueNames } from "../support/events.js";
import { createTopics, type Databases, startDatabases } from "../support/harness.js";
import { ServiceBProcess, serviceEnv } from "../support/service-b-process.js";

const brokers = inject("kafkaBrokers");
const names = uniqueNames("readiness");
let databases: Databases;
let service: ServiceBProcess;

beforeAll(async () => {
  databases = await startDatabases();
  await createTopics(brokers, names);
  service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
});

afterAll(async () => {
  await service?.stop();
  await databases?.destroy();
});

/** As the leader's superuser, in Service B's database: what an operator's mistake would do. */
const onLeader = (sql: string) => databases.leader.query(sql, [], "totals");

type ReadyzBody = { status?: "ready"; error?: { message: string } };

/** Waits until /readyz answers `status`; returns its body. */
async function readinessBecomes(status: number, what: string): Promise<ReadyzBody> {
  let body: ReadyzBody = {};
  await waitFor(
    what,
    async () => {
      const response = await fetch(`${service.url}/readyz`);
      body = (await response.json()) as ReadyzBody;
      return response.status === status;
    },
    30_000,
  );
  return body;
}

it("applying events failing past a few seconds makes Service B not ready, naming the cause; one applied slice makes it ready again", async () => {
  await produce(brokers, names.topic, [sumEvent(1, 2)]);
  await waitFor("the first event applied", async () => (await service.total()).events_applied === 1);
  await onLeader("REVOKE INSERT ON processed_events FROM service_b");
  try {
    await produce(brokers, names.topic, [sumEvent(3, 4)]);
    const body = await readinessBecomes(503, "/readyz to say that applying fails");
    expect(body.error?.message).toMatch(
      /not ready: applying events has failed for \d+ s: permission denied for table processed_events/,
    );
  } finally {
    await onLeader("GRANT INSERT ON processed_events TO service_b");
  }
  await readinessBecomes(200, "/readyz to say ready once the event is applied");
  expect((await service.total()).events_applied).toBe(2);
});

it("reading the total failing past a few seconds makes Service B not ready, naming the cause; one read makes it ready again", async () => {
  await onLeader("ALTER TABLE partition_totals RENAME TO partition_totals_away");
  try {
    const body = await readinessBecomes(503, "/readyz to say that reading the total fails");
    expect(body.error?.message).toMatch(
      /not ready: reading the total has failed for \d+ s: relation "partition_totals" does not exist/,
    );
  } finally {
    await onLeader("ALTER TABLE partition_totals_away RENAME TO partition_totals");
  }
  await readinessBecomes(200, "/readyz to say ready once the total can be read");
});
