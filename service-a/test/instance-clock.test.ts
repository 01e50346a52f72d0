import type { TemporaryPostgres } from "@sum/test-support";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, type ServiceProcess, startServiceProcess } from "./harness.js";

const DAY_MS = 24 * 60 * 60 * 1000;

let postgres: TemporaryPostgres;
let committed: CommittedEvents;

const withKey = (key: string) => ({ "content-type": "application/json", "idempotency-key": key });

beforeAll(async () => {
  postgres = await startOutboxDatabase();
  committed = await CommittedEvents.watch(postgres);
});

beforeEach(async () => {
  await committed.take();
});

afterAll(async () => {
  await postgres?.destroy();
});

describe.each([
  ["behind", "-1d", -DAY_MS],
  ["ahead of", "+1d", DAY_MS],
])("an instance whose clock is a day %s the database's", (_, clockOffset, offsetMs) => {
  let service: ServiceProcess;

  beforeAll(async () => {
    service = await startServiceProcess(postgres, { clockOffset });
  });

  afterAll(async () => {
    await service?.stop();
  });

  it("replays a keyed retry instead of committing a second event", async () => {
    const key = `retry${clockOffset}`;
    const first = await postSum(service.http, '{"a": 2, "b": 3}', withKey(key));
    expect(first.status).toBe(200);
    // The answer's timestamp is the instance's clock: off by the day, or this test proves nothing.
    expect(Math.abs(Date.parse(first.body.timestamp) - Date.now() - offsetMs)).toBeLessThan(60_000);

    const retry = await postSum(service.http, '{"a": 2, "b": 3}', withKey(key));
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body).toEqual(first.body);
    expect((await committed.take()).map((event) => event.id)).toEqual([first.body.event_id]);
  });

  it("keeps a key for 24 hours of the database's clock, then forgets it", async () => {
    const key = `window${clockOffset}`;
    const claimedAgo = (hours: number) =>
      postgres.query(
        "UPDATE idempotency_keys SET claimed_at = now() - make_interval(hours => $2) WHERE key = $1",
        [key, hours],
        "outbox",
      );
    expect((await postSum(service.http, '{"a": 1, "b": 1}', withKey(key))).status).toBe(200);

    await claimedAgo(23);
    const held = await postSum(service.http, '{"a": 1, "b": 2}', withKey(key));
    expect(held.body.error?.code).toBe("IDEMPOTENCY_KEY_REUSED");

    await claimedAgo(25);
    const forgotten = await postSum(service.http, '{"a": 1, "b": 2}', withKey(key));
    expect(forgotten.status).toBe(200);
    expect(forgotten.headers.get("idempotent-replayed")).toBeNull();
    expect(await committed.take()).toHaveLength(2);
  });
});
