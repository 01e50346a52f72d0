import { status } from "@grpc/grpc-js";
import type { TemporaryPostgres } from "@sum/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, startTestService, type TestService } from "./harness.js";

let postgres: TemporaryPostgres;
let service: TestService;

beforeAll(async () => {
  postgres = await startOutboxDatabase();
  service = await startTestService(postgres);
});

afterAll(async () => {
  await service?.stop();
  await postgres?.destroy();
});

interface Answer {
  phase: "before" | "down" | "after";
  ok: boolean;
  code: string;
  eventId?: string;
  ms: number;
}

it("while the database is down only UNAVAILABLE is answered, fast; every 200 is committed; it recovers by itself", async () => {
  const committed = await CommittedEvents.watch(postgres);
  const answers: Answer[] = [];
  let phase: Answer["phase"] = "before";
  let running = true;

  const load = async (worker: number) => {
    for (let i = 0; running; i++) {
      const started = performance.now();
      const current = phase;
      if ((worker + i) % 2 === 0) {
        const response = await postSum(service.http, JSON.stringify({ a: worker, b: i }));
        answers.push({
          phase: current,
          ok: response.status === 200,
          code:
            response.status === 200
              ? "OK"
              : `${response.status} ${response.body.error.code} ${response.headers.get("retry-after")}`,
          eventId: response.body.event_id,
          ms: performance.now() - started,
        });
      } else {
        const outcome = await service.grpc.calculateSum({ a: worker, b: i });
        answers.push({
          phase: current,
          ok: outcome.code === status.OK,
          code: status[outcome.code] ?? String(outcome.code),
          eventId: outcome.reply?.event_id,
          ms: performance.now() - started,
        });
      }
      if (current === "down") await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const workers = Array.from({ length: 8 }, (_, worker) => load(worker));

  const waitFor = async (predicate: () => boolean, what: string) => {
    const deadline = Date.now() + 30_000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  await waitFor(() => answers.filter((a) => a.ok).length >= 200, "200 answers before the outage");
  await postgres.stop();
  phase = "down";
  const downSince = answers.length;
  await waitFor(() => answers.length >= downSince + 100, "answers during the outage");
  const ready = await fetch(`${service.http}/readyz`);
  expect(ready.status).toBe(503);
  await postgres.start();
  phase = "after";
  await waitFor(() => answers.some((a) => a.phase === "after" && a.ok), "a 200 after the restart");
  await waitFor(
    () => answers.filter((a) => a.phase === "after" && a.ok).length >= 100,
    "steady 200s after the restart",
  );
  running = false;
  await Promise.all(workers);
  expect((await fetch(`${service.http}/readyz`)).status).toBe(200);

  const down = answers.filter((a) => a.phase === "down");
  // Requests that started just before the stop may still have committed; none started during the outage can.
  const refusedWhileDown = down.filter((a) => !a.ok);
  expect(refusedWhileDown.length).toBeGreaterThan(50);
  for (const answer of refusedWhileDown) expect(answer.code).toMatch(/^(503 UNAVAILABLE 1|UNAVAILABLE)$/);
  // Bounded by the connect timeout (1 s), not hung until the database returns; generous for a loaded machine.
  const slowest = Math.max(...refusedWhileDown.map((a) => a.ms));
  expect(slowest).toBeLessThan(15_000);

  const committedIds = new Set((await committed.take()).map((event) => event.id));
  const acknowledged = answers.filter((a) => a.ok);
  for (const answer of acknowledged) expect(committedIds.has(answer.eventId as string)).toBe(true);
  expect(acknowledged.filter((a) => a.phase === "after").length).toBeGreaterThanOrEqual(100);
});
