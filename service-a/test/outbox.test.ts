/**
 * Service A and its outbox database: concurrent migrations apply once, each role has least privilege,
 * acknowledged events are kept once as the reconciler's ledger (re-sends, forgetting past the window,
 * Debezium's publication), a rejected row fails alone, a full queue refuses at once, a graceful stop
 * answers what is in flight, and traceparents are stored and spans exported. Service A runs in this
 * process against a real PostgreSQL outbox (and an OTLP receiver for traces).
 */
import { readdir } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { migrate } from "@sum/pg-migrate";
import { waitFor } from "@sum/runtime";
import { otlpReceiver, type TemporaryPostgres } from "@sum/test-support";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../src/paths.js";
import { PASSWORDS, startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, serviceConfig, startTestService, sumsTakenIn, type TestService } from "./harness.js";

let postgres: TemporaryPostgres;

beforeAll(async () => {
  postgres = await startOutboxDatabase();
});

afterAll(async () => {
  await postgres?.destroy();
});

/** Holds an exclusive lock on the outbox, so every write waits until release(). */
async function lockOutbox(): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: postgres.url("outbox") });
  await client.connect();
  await client.query("BEGIN");
  await client.query("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE");
  return {
    async release() {
      await client.query("ROLLBACK");
      await client.end();
    },
  };
}

async function canRun(user: string, password: string, sql: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgres.url("outbox", user, password) });
  await client.connect();
  try {
    await client.query(sql);
    return true;
  } catch {
    return false;
  } finally {
    await client.end();
  }
}

describe("migrations", () => {
  it("three instances migrating at once apply each migration exactly once", async () => {
    const ownerUrl = serviceConfig(postgres).MIGRATION_DATABASE_URL;
    const migrateOnce = () => migrate(ownerUrl, MIGRATIONS_DIR);
    const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith(".sql")).sort();
    const results = await Promise.all([migrateOnce(), migrateOnce(), migrateOnce()]);
    expect(results.flat().sort()).toEqual(files);
    expect(await migrateOnce()).toEqual([]);
    const rows = await postgres.query<{ name: string }>(
      "SELECT name FROM schema_migrations ORDER BY name",
      [],
      "outbox",
    );
    expect(rows.map((row) => row.name)).toEqual(files);
  });
});

describe("least privilege", () => {
  it("the service's role can write events and keys, and nothing else", async () => {
    const [role] = await postgres.query<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'service_a'",
    );
    expect(role).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
    const as = (sql: string) => canRun("service_a", PASSWORDS.service, sql);
    expect(await as("SELECT key FROM idempotency_keys")).toBe(true);
    expect(await as("SELECT payload FROM outbox")).toBe(false);
    expect(await as("UPDATE outbox SET type = 'x'")).toBe(false);
    // The outbox is the ledger of acknowledged events: Service A appends, never deletes.
    expect(await as("DELETE FROM outbox")).toBe(false);
    expect(await as("TRUNCATE outbox")).toBe(false);
    expect(await as("DROP TABLE outbox")).toBe(false);
    expect(await as("CREATE TABLE intruder (id int)")).toBe(false);
    expect(await as("SELECT * FROM schema_migrations")).toBe(false);
  });

  it("Debezium's role can read the outbox and nothing else", async () => {
    const as = (sql: string) => canRun("debezium", PASSWORDS.debezium, sql);
    expect(await as("SELECT * FROM outbox")).toBe(true);
    expect(await as("SELECT * FROM idempotency_keys")).toBe(false);
    expect(
      await as(
        "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (gen_random_uuid(), 'x', 'x', 'x', '{}')",
      ),
    ).toBe(false);
    const publication = await postgres.query(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'outbox_publication'",
      [],
      "outbox",
    );
    expect(publication).toEqual([{ tablename: "outbox" }]);
  });

  it("the reconciler's role reads the ledger, and re-sends or forgets events only through its functions", async () => {
    const as = (sql: string) => canRun("reconciler", PASSWORDS.reconciler, sql);
    expect(await as("SELECT id, payload FROM outbox")).toBe(true);
    expect(await as("SELECT * FROM outbox_resends")).toBe(true);
    expect(await as("SELECT resend_events('{}'::uuid[])")).toBe(true);
    expect(
      await as(
        "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (gen_random_uuid(), 'x', 'x', 'x', '{}')",
      ),
    ).toBe(false);
    expect(await as("DELETE FROM outbox")).toBe(false);
    expect(await as("UPDATE outbox SET payload = '{}'")).toBe(false);
    expect(await as("INSERT INTO outbox_resends VALUES (gen_random_uuid(), 1, now())")).toBe(false);
    expect(await as("SELECT * FROM idempotency_keys")).toBe(false);
  });
});

describe("with a running service", () => {
  let service: TestService;

  beforeAll(async () => {
    // The longest request deadline: these tests hold the outbox locked for seconds on a loaded machine.
    service = await startTestService(postgres, {
      GROUP_COMMIT_MAX_QUEUED: "50",
      DB_POOL_SIZE: "3",
      REQUEST_TIMEOUT_MS: "14000",
    });
  });

  afterAll(async () => {
    await service?.stop();
  });

  it("the outbox keeps each acknowledged event once, with its result: the reconciler's ledger", async () => {
    const before = await postgres.query<{ rows: number }>("SELECT count(*)::int AS rows FROM outbox", [], "outbox");
    const committed = await CommittedEvents.watch(postgres);
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => postSum(service.http, JSON.stringify({ a: round, b: i }))),
      );
    }
    const events = await committed.take();
    expect(events).toHaveLength(200);
    const kept = await postgres.query<{ rows: number; distinct_ids: number }>(
      "SELECT count(*)::int AS rows, count(DISTINCT id)::int AS distinct_ids FROM outbox WHERE id = ANY($1::uuid[])",
      [events.map((event) => event.id)],
      "outbox",
    );
    expect(kept).toEqual([{ rows: 200, distinct_ids: 200 }]);
    const after = await postgres.query<{ rows: number }>("SELECT count(*)::int AS rows FROM outbox", [], "outbox");
    expect((after[0]?.rows ?? 0) - (before[0]?.rows ?? 0)).toBe(200);
    await committed.drop();
  });

  it("an event sent again is inserted again as it was, published again, and its re-sends counted", async () => {
    const committed = await CommittedEvents.watch(postgres);
    await Promise.all(Array.from({ length: 10 }, (_, i) => postSum(service.http, JSON.stringify({ a: i, b: 100 }))));
    const events = await committed.take();
    const ids = events.map((event) => event.id);
    const rowsOf = () =>
      postgres.query(
        "SELECT id, aggregatetype, aggregateid, type, payload, traceparent, created_at FROM outbox WHERE id = ANY($1::uuid[]) ORDER BY id",
        [ids],
        "outbox",
      );
    const before = await rowsOf();
    const [first = "", ...others] = ids.slice(0, 4);
    const reconciler = new pg.Client({ connectionString: postgres.url("outbox", "reconciler", PASSWORDS.reconciler) });
    await reconciler.connect();
    try {
      const resent = await reconciler.query<{ id: string }>("SELECT resend_events($1::uuid[]) AS id", [
        [first, ...others],
      ]);
      expect(resent.rows.map((row) => row.id).sort()).toEqual([first, ...others].sort());
      await reconciler.query("SELECT resend_events($1::uuid[])", [[first]]);
      const unknown = await reconciler.query("SELECT resend_events($1::uuid[]) AS id", [
        ["00000000-0000-7000-8000-000000000000"],
      ]);
      expect(unknown.rows).toEqual([]);
    } finally {
      await reconciler.end();
    }
    expect(await rowsOf()).toEqual(before);
    const published = await committed.take();
    await committed.drop();
    expect(published.map((event) => event.id).sort()).toEqual([first, first, ...others].sort());
    const byId = new Map(events.map((event) => [event.id, event.payload]));
    for (const event of published) expect(event.payload).toEqual(byId.get(event.id));
    const resends = await postgres.query<{ id: string; attempts: number }>(
      "SELECT event_id::text AS id, attempts FROM outbox_resends WHERE event_id = ANY($1::uuid[])",
      [ids],
      "outbox",
    );
    expect(new Map(resends.map((row) => [row.id, row.attempts]))).toEqual(
      new Map([[first, 2], ...others.map((id) => [id, 1] as [string, number])]),
    );
  });

  it("events past the window are forgotten in batches, and the last hour never is", async () => {
    // Two events whose ids were made two hours ago, as an instance would have made them.
    await postgres.query(
      `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
       SELECT (substr(uuidv7_floor(now() - interval '2 hours')::text, 1, 24) || lpad(i::text, 12, '0'))::uuid,
              'user-events', 'old', 'SumCalculated', '{"result": 1}'
         FROM generate_series(1, 2) AS i`,
      [],
      "outbox",
    );
    const count = async () =>
      (await postgres.query<{ rows: number }>("SELECT count(*)::int AS rows FROM outbox", [], "outbox"))[0]?.rows;
    const recent = (await count()) as number;
    const reconciler = new pg.Client({ connectionString: postgres.url("outbox", "reconciler", PASSWORDS.reconciler) });
    await reconciler.connect();
    try {
      const forget = async (before: string, batch: number) =>
        Number(
          (await reconciler.query(`SELECT forget_events_before(${before}, $1) AS n`, [batch])).rows[0]?.n as string,
        );
      expect(await forget("now() - interval '90 minutes'", 1)).toBe(1);
      expect(await forget("now() - interval '90 minutes'", 10)).toBe(1);
      expect(await forget("now() - interval '90 minutes'", 10)).toBe(0);
      await expect(reconciler.query("SELECT forget_events_before(now() - interval '30 minutes', 10)")).rejects.toThrow(
        /events of the last hour are never forgotten/,
      );
    } finally {
      await reconciler.end();
    }
    expect(await count()).toBe(recent - 2);
  });

  it("Debezium's publication carries each event's insert and not its delete", async () => {
    await postgres.query("SELECT pg_create_logical_replication_slot('pgoutput_probe', 'pgoutput')", [], "outbox");
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => postSum(service.http, JSON.stringify({ a: i, b: 1 }))));
      // What pgoutput would send Debezium: each message's first byte is its kind (I insert, D delete...).
      const messages = await postgres.query<{ kind: string }>(
        `SELECT chr(get_byte(data, 0)) AS kind FROM pg_logical_slot_peek_binary_changes(
           'pgoutput_probe', NULL, NULL, 'proto_version', '1', 'publication_names', 'outbox_publication')`,
        [],
        "outbox",
      );
      const kinds = messages.map((m) => m.kind);
      expect(kinds.filter((kind) => kind === "I")).toHaveLength(10);
      expect(kinds.filter((kind) => kind === "D")).toHaveLength(0);
    } finally {
      await postgres.query("SELECT pg_drop_replication_slot('pgoutput_probe')", [], "outbox");
    }
  });

  it("a row the database rejects fails alone; the rest of its batch commits", async () => {
    await postgres.query(
      "ALTER TABLE outbox ADD CONSTRAINT no_thirteen CHECK ((payload->>'a')::bigint <> 13)",
      [],
      "outbox",
    );
    const committed = await CommittedEvents.watch(postgres);
    try {
      const lock = await lockOutbox();
      const takenInBefore = await sumsTakenIn(service.service);
      const answers = Promise.all(
        Array.from({ length: 20 }, (_, i) => postSum(service.http, JSON.stringify({ a: i, b: 0 }))),
      );
      await waitFor(
        "the 20 sums to reach the committer",
        async () => (await sumsTakenIn(service.service)) >= takenInBefore + 20,
      );
      await lock.release();
      const responses = await answers;
      expect(responses.map((r) => r.status)).toEqual(responses.map((_, i) => (i === 13 ? 500 : 200)));
      expect(responses[13]?.body.error.code).toBe("INTERNAL");
      const ids = (await committed.take()).map((e) => e.id).sort();
      expect(ids).toEqual(
        responses
          .filter((r) => r.status === 200)
          .map((r) => r.body.event_id)
          .sort(),
      );
    } finally {
      await postgres.query("ALTER TABLE outbox DROP CONSTRAINT no_thirteen", [], "outbox");
      await committed.drop();
    }
  });

  it("when the queue is full, requests are refused at once with 503 and Retry-After; every 200 is committed", async () => {
    const committed = await CommittedEvents.watch(postgres);
    const lock = await lockOutbox();
    const takenInBefore = await sumsTakenIn(service.service);
    const answers = Promise.all(
      Array.from({ length: 300 }, (_, i) => postSum(service.http, JSON.stringify({ a: i, b: 1 }))),
    );
    // Hold the lock until every request has arrived: queued, in a blocked batch, or refused.
    await waitFor(
      "the 300 sums to reach the instance",
      async () => (await sumsTakenIn(service.service)) >= takenInBefore + 300,
    );
    // Answered while the outbox is still locked: refused without waiting for the database.
    const refusedAtOnce = await Promise.race([
      postSum(service.http, '{"a": 1, "b": 1}'),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the refusal waited for the database")), 10_000),
      ),
    ]);
    await lock.release();
    const responses = await answers;

    expect(refusedAtOnce.status).toBe(503);
    expect(refusedAtOnce.body.error).toEqual({ code: "UNAVAILABLE", message: expect.stringMatching(/overloaded/) });
    expect(refusedAtOnce.headers.get("retry-after")).toBe("1");
    const refused = responses.filter((r) => r.status === 503);
    const accepted = responses.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThan(100);
    expect(accepted.length + refused.length).toBe(300);
    const ids = (await committed.take()).map((e) => e.id).sort();
    expect(ids).toEqual(accepted.map((r) => r.body.event_id).sort());
    await committed.drop();
  });
});

it("a graceful stop lets requests in flight commit and answer, and refuses new connections at once", async () => {
  const service = await startTestService(postgres);
  const committed = await CommittedEvents.watch(postgres);
  const lock = await lockOutbox();
  const inFlight = Promise.all([
    ...Array.from({ length: 5 }, (_, i) => postSum(service.http, JSON.stringify({ a: i, b: 2 }))),
    ...Array.from({ length: 5 }, (_, i) => service.grpc.calculateSum({ a: i, b: 3 })),
  ]);
  let stopped: Promise<void> | undefined;
  try {
    await waitFor("the 10 sums to reach the committer", async () => (await sumsTakenIn(service.service)) >= 10);
    stopped = service.service.stop();
    expect(await connectionRefused(service.service.httpPort)).toBe(true);
  } finally {
    await lock.release();
  }
  const answers = await inFlight;
  // The client closes its connection, as nginx does after its calls: the stop needs to cut nothing.
  service.grpc.close();
  await stopped;
  const ids = answers.map((answer) => ("status" in answer ? answer.body.event_id : answer.reply?.event_id));
  expect(ids.every((id) => typeof id === "string")).toBe(true);
  expect((await committed.take()).map((e) => e.id).sort()).toEqual([...ids].sort());
  await committed.drop();
});

it("a request sent on a kept-alive connection while the instance stops is answered, not reset", async () => {
  const service = await startTestService(postgres);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await postOver(agent, service.service.httpPort, { a: 1, b: 1 });
    expect(first).toMatchObject({ status: 200, connection: "keep-alive" });
    // The connection now idles, kept alive; the instance starts its stop and the next request
    // goes out on that same connection.
    const stopped = service.service.stop();
    const second = await postOver(agent, service.service.httpPort, { a: 2, b: 2 });
    expect(second).toMatchObject({ status: 200, connection: "close", reusedSocket: true });
    await stopped;
  } finally {
    agent.destroy();
    service.grpc.close();
  }
});

/** Whether a new TCP connection to the port is refused. */
function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

/** POST /sum through a given agent, so a test controls which connection carries it. */
function postOver(
  agent: http.Agent,
  port: number,
  body: object,
): Promise<{ status: number; connection: string | undefined; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { agent, host: "127.0.0.1", port, path: "/sum", method: "POST", headers: { "content-type": "application/json" } },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            connection: response.headers.connection,
            reusedSocket: request.reusedSocket,
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(JSON.stringify(body));
  });
}

describe("traces", () => {
  const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  const callerParent = (flags: string) => `00-${CALLER_TRACE}-00f067aa0ba902b7-${flags}`;

  it("with tracing on, each event stores its request span's traceparent, and the span is exported", async () => {
    const receiver = await otlpReceiver();
    const service = await startTestService(postgres, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      TRACE_SAMPLE_RATIO: "0",
    });
    const committed = await CommittedEvents.watch(postgres);
    try {
      const overHttp = await postSum(service.http, JSON.stringify({ a: 1, b: 2 }), {
        "content-type": "application/json",
        traceparent: callerParent("01"),
      });
      const overGrpc = await service.grpc.calculateSum({ a: 3, b: 4 }, { traceparent: callerParent("01") });
      const unsampled = await postSum(service.http, JSON.stringify({ a: 5, b: 6 }), {
        "content-type": "application/json",
        traceparent: callerParent("00"),
      });
      const events = await committed.take();
      const stored = (eventId: string) => events.find((event) => event.id === eventId)?.traceparent ?? "";
      const sampled = [stored(overHttp.body.event_id), stored(overGrpc.reply?.event_id ?? "")];
      for (const traceparent of sampled) {
        // The caller's trace, the request span's own id: Service B's span becomes its child.
        expect(traceparent).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`));
        expect(traceparent).not.toBe(callerParent("01"));
      }
      expect(stored(unsampled.body.event_id)).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-00$`));
      await service.stop();
      // Sent by the stop at the latest: both request spans, and not the unsampled one.
      for (const traceparent of sampled) expect(receiver.holds(traceparent.slice(36, 52))).toBe(true);
      expect(receiver.holds(stored(unsampled.body.event_id).slice(36, 52))).toBe(false);
    } finally {
      await committed.drop();
      await receiver.close();
    }
  });

  it("with tracing off, a well-formed traceparent is stored as it came", async () => {
    const service = await startTestService(postgres);
    const committed = await CommittedEvents.watch(postgres);
    try {
      const answer = await postSum(service.http, JSON.stringify({ a: 1, b: 2 }), {
        "content-type": "application/json",
        traceparent: callerParent("01"),
      });
      const [event] = await committed.take();
      expect(event).toMatchObject({ id: answer.body.event_id, traceparent: callerParent("01") });
    } finally {
      await service.stop();
      await committed.drop();
    }
  });
});
