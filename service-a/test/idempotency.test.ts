import { status } from "@grpc/grpc-js";
import type { TemporaryPostgres } from "@sum/test-support";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPool } from "../src/persistence/database.js";
import { purgeExpiredKeys } from "../src/persistence/outbox-store.js";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, startTestService, type TestService } from "./harness.js";

let postgres: TemporaryPostgres;
let service: TestService;
let committed: CommittedEvents;

const withKey = (key: string) => ({ "content-type": "application/json", "idempotency-key": key });

beforeAll(async () => {
  postgres = await startOutboxDatabase();
  service = await startTestService(postgres);
  committed = await CommittedEvents.watch(postgres);
});

beforeEach(async () => {
  await committed.take();
});

afterAll(async () => {
  await service?.stop();
  await postgres?.destroy();
});

describe("Idempotency-Key", () => {
  it("a repeated key replays the original answer and creates no second event", async () => {
    const first = await postSum(service.http, '{"a": 2, "b": 3}', withKey("repeat-1"));
    const second = await postSum(service.http, '{"b": 3, "a": 2}', withKey("repeat-1"));
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(second.status).toBe(200);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body).toEqual(first.body);
    const grpcReplay = await service.grpc.calculateSum({ a: 2, b: 3 }, { "idempotency-key": "repeat-1" });
    expect(grpcReplay).toMatchObject({ code: status.OK, replayed: true, reply: { event_id: first.body.event_id } });
    expect((await committed.take()).map((e) => e.id)).toEqual([first.body.event_id]);
  });

  it("the same key sent concurrently over HTTP and gRPC creates one event", async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        if (i % 2 === 0) return (await postSum(service.http, '{"a": 5, "b": 8}', withKey("race-1"))).body.event_id;
        return (await service.grpc.calculateSum({ a: 5, b: 8 }, { "idempotency-key": "race-1" })).reply?.event_id;
      }),
    );
    expect(new Set(answers).size).toBe(1);
    expect((await committed.take()).map((e) => e.id)).toEqual([answers[0]]);
  });

  it("the same key sent concurrently to two instances creates one event", async () => {
    const other = await startTestService(postgres, { SERVICE_ID: "service-a-other" });
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const target = i % 2 === 0 ? service.http : other.http;
          const response = await postSum(target, '{"a": 1, "b": 1}', withKey("two-instances"));
          expect(response.status).toBe(200);
          return response.body.event_id;
        }),
      );
      expect(new Set(answers).size).toBe(1);
      expect(await committed.take()).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });

  it("a key reused with another request gets 422 over HTTP and ALREADY_EXISTS over gRPC", async () => {
    expect((await postSum(service.http, '{"a": 1, "b": 2}', withKey("reused"))).status).toBe(200);
    const http = await postSum(service.http, '{"a": 1, "b": 3}', withKey("reused"));
    expect(http.status).toBe(422);
    expect(http.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const grpc = await service.grpc.calculateSum({ a: 9, b: 9 }, { "idempotency-key": "reused" });
    expect(grpc.code).toBe(status.ALREADY_EXISTS);
    expect(grpc.details).toMatch(/already used with a different request/);
    expect(await committed.take()).toHaveLength(1);
  });

  it("racing requests that reuse a key with another body: one wins, one gets 422, a bystander commits", async () => {
    const [same, differs, plain] = await Promise.all([
      postSum(service.http, '{"a": 4, "b": 4}', withKey("batch-mates")),
      postSum(service.http, '{"a": 4, "b": 5}', withKey("batch-mates")),
      postSum(service.http, '{"a": 4, "b": 6}'),
    ]);
    expect([same?.status, differs?.status, plain?.status].sort()).toEqual([200, 200, 422]);
    expect(await committed.take()).toHaveLength(2);
  });

  it("keys hold across a restart of the service", async () => {
    const first = await postSum(service.http, '{"a": 7, "b": 7}', withKey("restart"));
    await service.stop();
    service = await startTestService(postgres);
    const replay = await postSum(service.http, '{"a": 7, "b": 7}', withKey("restart"));
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.event_id).toBe(first.body.event_id);
    expect(await committed.take()).toHaveLength(1);
  });

  it("a key claimed over 24 hours ago by the database's clock is forgotten, and purged", async () => {
    const first = await postSum(service.http, '{"a": 3, "b": 3}', withKey("old"));
    await postgres.query(
      "UPDATE idempotency_keys SET claimed_at = now() - interval '25 hours' WHERE key = 'old'",
      [],
      "outbox",
    );
    const again = await postSum(service.http, '{"a": 3, "b": 4}', withKey("old"));
    expect(again.status).toBe(200);
    expect(again.body.event_id).not.toBe(first.body.event_id);
    expect(await committed.take()).toHaveLength(2);

    await postgres.query("UPDATE idempotency_keys SET claimed_at = now() - interval '25 hours'", [], "outbox");
    await postSum(service.http, '{"a": 1, "b": 0}', withKey("fresh"));
    // The purge runs as the service's own role: its grants are enough.
    const pool = createPool(
      { connectionString: service.config.DATABASE_URL, max: 1, connectTimeoutMs: 1000, statementTimeoutMs: 5000 },
      () => undefined,
    );
    try {
      expect(await purgeExpiredKeys(pool, 2)).toBe(2);
      let purged = 2;
      while (purged === 2) purged = await purgeExpiredKeys(pool, 2);
    } finally {
      await pool.end();
    }
    const keys = await postgres.query<{ key: string }>("SELECT key FROM idempotency_keys", [], "outbox");
    expect(keys.map((row) => row.key)).toEqual(["fresh"]);
  });
});
