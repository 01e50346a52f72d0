import { status } from "@grpc/grpc-js";
import type { TemporaryPostgres } from "@sum/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, startTestService, type TestService } from "./harness.js";

let postgres: TemporaryPostgres;
let service: TestService;

beforeAll(async () => {
  postgres = await startOutboxDatabase();
  // Seven connections open at once when the load starts; on a loaded machine their SCRAM handshakes
  // can take more than the default 1 s, which is not what this test is about.
  service = await startTestService(postgres, { DB_CONNECT_TIMEOUT_MS: "10000" });
});

afterAll(async () => {
  await service?.stop();
  await postgres?.destroy();
});

it("2,000 concurrent requests over HTTP and gRPC give 2,000 committed events with the answered ids", async () => {
  const committed = await CommittedEvents.watch(postgres);
  const requests = Array.from({ length: 2000 }, async (_, i) => {
    if (i % 2 === 0) {
      const response = await postSum(service.http, JSON.stringify({ a: i, b: 1 }));
      expect(response.status).toBe(200);
      return { id: response.body.event_id as string, result: i + 1 };
    }
    const outcome = await service.grpc.calculateSum({ a: i, b: 1 });
    expect(outcome.code).toBe(status.OK);
    return { id: outcome.reply?.event_id as string, result: i + 1 };
  });
  const answered = await Promise.all(requests);
  const events = await committed.take();

  expect(new Set(answered.map((a) => a.id)).size).toBe(2000);
  expect(events).toHaveLength(2000);
  const resultById = new Map(events.map((event) => [event.id, event.payload.result]));
  for (const { id, result } of answered) expect(resultById.get(id)).toBe(result);

  // Group commit really grouped: far fewer transactions than events.
  const batches = await service.service.metrics.batchSize.get();
  const count = batches.values.find((v) => v.metricName === "service_a_group_commit_batch_size_count")?.value ?? 0;
  expect(count).toBeGreaterThan(0);
  expect(count).toBeLessThan(1000);
});
