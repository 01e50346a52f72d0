/**
 * What Service A answers when a write's outcome is in doubt: the request deadline while the outbox
 * database hangs (OUTCOME_UNKNOWN once the write had started, UNAVAILABLE while it was still queued),
 * a connection lost while committing (HTTP and gRPC, with and without an Idempotency-Key), and keyed
 * batches that claim their keys in one order, so they never deadlock. Service A runs in this process
 * against a real PostgreSQL outbox, its writes paused by locks and deferred triggers.
 */
import { status } from "@grpc/grpc-js";
import type { TemporaryPostgres } from "@sum/test-support";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { Config } from "../src/config.js";
import type { OutboxEvent } from "../src/domain/calculate-sum.js";
import { newEventId } from "../src/domain/identifiers.js";
import { traceparentFor } from "../src/domain/trace-context.js";
import { createPool } from "../src/persistence/database.js";
import { writeEvents } from "../src/persistence/outbox-store.js";
import { PASSWORDS, startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, startTestService, type TestService } from "./harness.js";

let postgres: TemporaryPostgres;

beforeAll(async () => {
  postgres = await startOutboxDatabase();
});

afterAll(async () => {
  await postgres?.destroy();
});

const withKey = (key: string) => ({ "content-type": "application/json", "idempotency-key": key });

/** Polls `probe` until it returns true; no fixed sleeps, so a slow machine only makes it slower. */
async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; !(await probe()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `answer`, or a failure if it takes longer than `ms`: a hung request fails the test instead of hanging it. */
function within<T>(ms: number, answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

/** Service A's connections waiting for a lock: `wait_event` 'advisory', 'relation', 'transactionid'... */
async function serviceBackendsWaiting(query = "%"): Promise<Array<{ pid: number; wait_event: string }>> {
  return postgres.query(
    `SELECT pid, wait_event FROM pg_stat_activity
     WHERE application_name = 'service-a' AND wait_event_type = 'Lock' AND query LIKE $1`,
    [query],
    "outbox",
  );
}

async function keyEventId(key: string): Promise<string | undefined> {
  const rows = await postgres.query<{ event_id: string }>(
    "SELECT event_id FROM idempotency_keys WHERE key = $1",
    [key],
    "outbox",
  );
  return rows[0]?.event_id;
}

/** Service A on the test's database, stopped when the test ends whatever its outcome. */
async function serviceFor(overrides: Partial<Record<keyof Config, string>>): Promise<TestService> {
  const service = await startTestService(postgres, overrides);
  onTestFinished(() => service.stop());
  return service;
}

/** A replication slot seeing what commits from now on, dropped when the test ends. */
async function watchCommits(): Promise<CommittedEvents> {
  const committed = await CommittedEvents.watch(postgres);
  onTestFinished(() => committed.drop());
  return committed;
}

/** A superuser session of the test's own, holding locks until the test ends. */
async function session(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: postgres.url("outbox") });
  await client.connect();
  onTestFinished(() => client.end());
  return client;
}

/** Runs `create` (SQL as the superuser) for the test only: `drop` undoes it when the test ends. */
async function during(create: string, drop: string): Promise<void> {
  await postgres.query(create, [], "outbox");
  onTestFinished(async () => {
    await postgres.query(drop, [], "outbox");
  });
}

describe("the request deadline (REQUEST_TIMEOUT_MS)", () => {
  it("answers by the deadline while the database hangs: OUTCOME_UNKNOWN if the write had started, UNAVAILABLE if it was still queued", async () => {
    const timeoutMs = 1000;
    // One batch at a time, and a statement timeout far past the test: only the deadline can answer.
    const service = await serviceFor({
      REQUEST_TIMEOUT_MS: String(timeoutMs),
      DB_POOL_SIZE: "2",
      DB_STATEMENT_TIMEOUT_MS: "120000",
    });
    const committed = await watchCommits();
    const lock = await session();
    await lock.query("BEGIN");
    await lock.query("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE");
    const timed = async (answer: ReturnType<typeof postSum>) => {
      const started = performance.now();
      const response = await within(timeoutMs + 10_000, answer);
      return { ...response, ms: performance.now() - started };
    };
    const writing = timed(postSum(service.http, '{"a": 1, "b": 2}', withKey("deadline-writing")));
    await until(async () => (await serviceBackendsWaiting("%append_events%")).length === 1, "the write to block");
    const queued = timed(postSum(service.http, '{"a": 3, "b": 4}', withKey("deadline-queued")));

    // Both are answered while the outbox is still locked: by the deadline, not by the database.
    const [late, neverSent] = await Promise.all([writing, queued]);
    expect(late.status).toBe(500);
    expect(late.body.error).toEqual({ code: "OUTCOME_UNKNOWN", message: expect.stringMatching(/Idempotency-Key/) });
    expect(late.headers.get("retry-after")).toBe("1");
    expect(neverSent.status).toBe(503);
    expect(neverSent.body.error).toEqual({
      code: "UNAVAILABLE",
      message: expect.stringMatching(/nothing was written/),
    });
    for (const answer of [late, neverSent]) expect(answer.ms).toBeGreaterThanOrEqual(timeoutMs - 50);
    await lock.query("ROLLBACK");

    // The write that had started goes on and commits; the retry learns so from its key.
    const retryLate = await postSum(service.http, '{"a": 1, "b": 2}', withKey("deadline-writing"));
    expect(retryLate.status).toBe(200);
    expect(retryLate.headers.get("idempotent-replayed")).toBe("true");
    expect(await keyEventId("deadline-writing")).toBe(retryLate.body.event_id);
    // The queued one was never written: its retry is the first commit.
    expect(await keyEventId("deadline-queued")).toBeUndefined();
    const retryQueued = await postSum(service.http, '{"a": 3, "b": 4}', withKey("deadline-queued"));
    expect(retryQueued.status).toBe(200);
    expect(retryQueued.headers.get("idempotent-replayed")).toBeNull();
    expect((await committed.take()).map((event) => event.id).sort()).toEqual(
      [retryLate.body.event_id, retryQueued.body.event_id].sort(),
    );
  });
});

describe("a connection lost while committing", () => {
  const SUM = { a: 5, b: 6 };

  it.each([
    ["HTTP, with a key (COMMIT)", "http", "commit-lost-http"],
    ["gRPC, with a key (COMMIT)", "grpc", "commit-lost-grpc"],
    ["HTTP, without a key (one statement in autocommit)", "http", undefined],
    ["gRPC, without a key (one statement in autocommit)", "grpc", undefined],
  ] as const)("%s is OUTCOME_UNKNOWN, never UNAVAILABLE", async (_name, transport, key) => {
    // The longest deadline allowed: the answer comes from the lost connection, long before it.
    const service = await serviceFor({ REQUEST_TIMEOUT_MS: "14000" });
    const committed = await watchCommits();
    const lock = await session();
    // A deferred trigger runs inside the commit: the lock it waits for stops the commit half-way.
    await during(
      `CREATE FUNCTION pause_commit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_advisory_xact_lock_shared(61); RETURN NULL; END $$;
       CREATE CONSTRAINT TRIGGER pause_commit AFTER INSERT ON outbox
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pause_commit();`,
      "DROP TRIGGER pause_commit ON outbox; DROP FUNCTION pause_commit()",
    );
    await lock.query("SELECT pg_advisory_lock(61)");

    const headers: Record<string, string> = key === undefined ? {} : { "idempotency-key": key };
    const answer =
      transport === "http"
        ? postSum(service.http, JSON.stringify(SUM), { "content-type": "application/json", ...headers }).then(
            (response) => ({ code: response.body.error?.code, status: response.status }),
          )
        : service.grpc
            .calculateSum(SUM, headers)
            .then((outcome) => ({ code: outcome.errorCode, status: outcome.code }));
    const committing = key === undefined ? "%append_events%" : "COMMIT";
    await until(async () => (await serviceBackendsWaiting(committing)).length === 1, "the commit to block");
    const [backend] = await serviceBackendsWaiting(committing);
    await postgres.query("SELECT pg_terminate_backend($1)", [backend?.pid], "outbox");
    expect(await within(10_000, answer)).toEqual({
      code: "OUTCOME_UNKNOWN",
      status: transport === "http" ? 500 : status.UNKNOWN,
    });
    await lock.query("SELECT pg_advisory_unlock(61)");

    // Killed before its commit was durable: nothing was written, and a retry with the key commits it once.
    expect(await committed.take()).toEqual([]);
    if (key !== undefined) {
      const retry = await service.grpc.calculateSum(SUM, { "idempotency-key": key });
      expect(retry).toMatchObject({ code: status.OK, replayed: false });
      expect((await committed.take()).map((event) => event.id)).toEqual([retry.reply?.event_id]);
    }
  });
});

describe("keyed batches", () => {
  it("claim their keys in one order, so batches with the same keys in opposite orders never deadlock", async () => {
    const pool = createPool(
      {
        connectionString: postgres.url("outbox", "service_a", PASSWORDS.service),
        max: 4,
        connectTimeoutMs: 5000,
        statementTimeoutMs: 120_000,
      },
      () => undefined,
    );
    onTestFinished(() => pool.end());
    const lock = await session();
    // Each claim pauses before its second key until the lock is released, so both batches have
    // claimed their first key before either goes on: in opposite orders, each then waits for the other.
    await during(
      `CREATE FUNCTION pause_second_claim() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE claimed int := coalesce(nullif(current_setting('test.claimed', true), ''), '0')::int + 1;
       BEGIN
         PERFORM set_config('test.claimed', claimed::text, true);
         IF claimed = 2 THEN PERFORM pg_advisory_xact_lock_shared(62); END IF;
         RETURN NEW;
       END $$;
       CREATE TRIGGER pause_second_claim BEFORE INSERT ON idempotency_keys
         FOR EACH ROW EXECUTE FUNCTION pause_second_claim();`,
      "DROP TRIGGER pause_second_claim ON idempotency_keys; DROP FUNCTION pause_second_claim()",
    );
    await lock.query("SELECT pg_advisory_lock(62)");

    const event = (idempotencyKey: string): OutboxEvent => ({
      eventId: newEventId(),
      a: 1n,
      b: 2n,
      result: 3n,
      serviceId: "service-a-test",
      createdAt: new Date(),
      traceparent: traceparentFor(undefined),
      idempotencyKey,
    });
    const batches = Promise.all([
      writeEvents(pool, [event("order-1"), event("order-2")]),
      writeEvents(pool, [event("order-2"), event("order-1")]),
    ]);
    // Both batches are inside their claim, each waiting for the lock or for the other's first key.
    await until(async () => (await serviceBackendsWaiting()).length === 2, "both batches to be claiming");
    await lock.query("SELECT pg_advisory_unlock(62)");

    const outcomes = (await batches).flat();
    const failures = outcomes.filter((outcome) => outcome instanceof Error);
    expect(failures.map((error) => `${error.message} (${(error.cause as Error | undefined)?.message})`)).toEqual([]);
    expect(outcomes.map((outcome) => (outcome instanceof Error ? "error" : outcome.kind)).sort()).toEqual([
      "committed",
      "committed",
      "key-already-used",
      "key-already-used",
    ]);
  });
});
