import { status } from "@grpc/grpc-js";
import { waitFor } from "@sum/runtime";
import type { TemporaryPostgres } from "@sum/test-support";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, startTestService, type TestService } from "./harness.js";

// A small cap, as a stack could set it: the slot may keep 64 MB of WAL; sums stop at 75% of it.
const CAP_MB = 64;

let postgres: TemporaryPostgres;
let service: TestService;

beforeAll(async () => {
  postgres = await startOutboxDatabase({ slotWalCap: `${CAP_MB}MB` });
  service = await startTestService(postgres, { OUTBOX_SLOT_CHECK_MS: "100" });
});

afterAll(async () => {
  await service?.stop();
  await postgres?.destroy();
});

const slot = async () =>
  (
    await postgres.query<{ wal_status: string | null; retained_mb: number | null }>(
      `SELECT wal_status, (pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) / 1048576)::float8 AS retained_mb
         FROM pg_replication_slots WHERE slot_name = 'outbox_slot'`,
      [],
      "outbox",
    )
  )[0];

/** WAL that nobody reads, as a Kafka Connect outage leaves it: the slot keeps it all. */
async function writeWal(megabytes: number): Promise<void> {
  for (let i = 0; i < megabytes; i++) {
    await postgres.query("SELECT pg_logical_emit_message(false, 'test-fill', repeat('x', 1048576))", [], "outbox");
  }
}

/**
 * Debezium catching up: the slot confirms everything written so far. Its restart point (what
 * PostgreSQL keeps) moves at the next running-transactions record, which a checkpoint writes.
 */
async function catchUp(): Promise<void> {
  const advance = "SELECT pg_replication_slot_advance('outbox_slot', pg_current_wal_lsn())";
  await postgres.query(advance, [], "outbox");
  await postgres.query("CHECKPOINT", [], "outbox");
  await postgres.query(advance, [], "outbox");
}

/** The ids of every sum answered 200 by this file's tests. */
const acceptedIds: string[] = [];

async function sumIsTaken(): Promise<boolean> {
  const answer = await postSum(service.http, '{"a": 1, "b": 2}');
  if (answer.status === 200) acceptedIds.push(answer.body.event_id);
  return answer.status === 200;
}

beforeEach(async () => {
  await catchUp();
  await waitFor("sums to be taken", sumIsTaken, 30_000);
});

it("a slot holding most of its WAL cap: new sums get 503 saying the stream is behind, then resume by themselves", async () => {
  const committed = await CommittedEvents.watch(postgres);
  const acceptedBefore = acceptedIds.length;
  await writeWal(CAP_MB * 0.8);
  await waitFor("the slot to hold 75% of its cap", async () => ((await slot())?.retained_mb ?? 0) > CAP_MB * 0.75);
  await waitFor("Service A to refuse a sum", async () => !(await sumIsTaken()));
  const refused = await postSum(service.http, '{"a": 40, "b": 2}');
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("1");
  expect(refused.body.error).toEqual({ code: "UNAVAILABLE", message: expect.stringMatching(/event stream is behind/) });
  const overGrpc = await service.grpc.calculateSum({ a: 40, b: 2 });
  expect(overGrpc).toMatchObject({ code: status.UNAVAILABLE, errorCode: "UNAVAILABLE" });
  expect(overGrpc.details).toMatch(/event stream is behind/);
  const metrics = await (await fetch(`${service.http}/metrics`)).text();
  expect(metrics).toMatch(/^service_a_event_stream_state\{state="behind"\} 1$/m);
  expect(metrics).toMatch(/^service_a_event_stream_refused_total\{state="behind"\} [1-9]/m);

  await catchUp();
  await waitFor("sums to be taken again", sumIsTaken);
  // Nothing refused was written: the events committed since the watch began are the ones answered 200.
  const ids = (await committed.take()).map((event) => event.id);
  await committed.drop();
  expect(ids.sort()).toEqual(acceptedIds.slice(acceptedBefore).sort());
});

it("a slot invalidated past its cap: every sum is refused, saying the stream is broken, until an operator recovers it", async () => {
  await writeWal(CAP_MB * 1.5);
  await postgres.query("CHECKPOINT", [], "outbox");
  await waitFor("PostgreSQL to invalidate the slot", async () => (await slot())?.wal_status === "lost");
  await waitFor("Service A to see the slot lost", async () => {
    const answer = await postSum(service.http, '{"a": 1, "b": 2}');
    expect(answer.status).toBe(503);
    return /event stream is broken: replication slot outbox_slot was invalidated/.test(answer.body.error.message);
  });
  expect(await (await fetch(`${service.http}/metrics`)).text()).toMatch(
    /^service_a_event_stream_state\{state="lost"\} 1$/m,
  );

  // The recovery the README describes: a new slot (and Debezium restarted on it).
  await postgres.query("SELECT pg_drop_replication_slot('outbox_slot')", [], "outbox");
  await waitFor("Service A to see the slot missing", async () => {
    const answer = await postSum(service.http, '{"a": 1, "b": 2}');
    return answer.status === 503 && /does not exist/.test(answer.body.error.message);
  });
  await postgres.query("SELECT pg_create_logical_replication_slot('outbox_slot', 'pgoutput')", [], "outbox");
  await waitFor("sums to be taken on the new slot", sumIsTaken, 30_000);
});
