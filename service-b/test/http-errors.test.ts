import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { uniqueNames } from "../support/events.js";
import { createTopics, type Databases, startDatabases } from "../support/harness.js";
import { ServiceBProcess, serviceEnv } from "../support/service-b-process.js";

const brokers = inject("kafkaBrokers");
let databases: Databases;
let service: ServiceBProcess;

beforeAll(async () => {
  databases = await startDatabases();
  const names = uniqueNames("errors");
  await createTopics(brokers, names);
  service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
});

afterAll(async () => {
  await service?.stop();
  await databases?.destroy();
});

async function get(path: string) {
  const response = await fetch(`${service.url}${path}`);
  const body = (await response.json()) as { error?: { code: string; message: string } };
  return { status: response.status, retryAfter: response.headers.get("retry-after"), code: body.error?.code };
}

const EVENT_ID = "0191b2c3-d4e5-7f60-8a9b-0c1d2e3f4a5b";

// In this order: the last test stops the databases.
describe("Service B answers each failure with its own status and code", () => {
  it.each([
    "/api/total?consistency=weak",
    "/api/summation?consistency=STRONG",
    `/api/events/${EVENT_ID}?consistency=`,
    "/api/total?consistency=strong&consistency=eventual",
  ])("a consistency other than eventual or strong: 400 INVALID_ARGUMENT (%s)", async (path) => {
    expect(await get(path)).toEqual({ status: 400, retryAfter: null, code: "INVALID_ARGUMENT" });
  });

  it.each(["/api/events/not-a-uuid", `/api/events/${EVENT_ID.toUpperCase()}`])(
    "an event id that is not a lowercase UUID: 400 INVALID_ARGUMENT (%s)",
    async (path) => {
      expect(await get(path)).toEqual({ status: 400, retryAfter: null, code: "INVALID_ARGUMENT" });
    },
  );

  it("a path that does not decode: 400 INVALID_ARGUMENT in the contract's shape", async () => {
    expect(await get("/api/events/%E0%A4%A")).toEqual({ status: 400, retryAfter: null, code: "INVALID_ARGUMENT" });
  });

  it("an unknown path, or an event not applied: 404 NOT_FOUND", async () => {
    expect(await get("/api/totals")).toEqual({ status: 404, retryAfter: null, code: "NOT_FOUND" });
    expect(await get(`/api/events/${EVENT_ID}?consistency=strong`)).toEqual({
      status: 404,
      retryAfter: null,
      code: "NOT_FOUND",
    });
  });

  it("the leader refuses the read (the service's privilege revoked): 500 INTERNAL, no Retry-After", async () => {
    await databases.leader.query("REVOKE SELECT ON partition_totals FROM service_b", [], "totals");
    try {
      expect(await get("/api/total?consistency=strong")).toEqual({ status: 500, retryAfter: null, code: "INTERNAL" });
    } finally {
      await databases.leader.query("GRANT SELECT ON partition_totals TO service_b", [], "totals");
    }
    expect((await fetch(`${service.url}/api/total?consistency=strong`)).status).toBe(200);
  });

  it("neither the leader nor the replica can answer: 503 UNAVAILABLE with Retry-After on every read", async () => {
    await databases.replica.stop();
    await databases.leader.stop();
    const unavailable = { status: 503, retryAfter: "1", code: "UNAVAILABLE" };
    for (const consistency of ["eventual", "strong"]) {
      expect(await get(`/api/total?consistency=${consistency}`)).toEqual(unavailable);
      expect(await get(`/api/summation?consistency=${consistency}`)).toEqual(unavailable);
      expect(await get(`/api/events/${EVENT_ID}?consistency=${consistency}`)).toEqual(unavailable);
    }
  });
});
