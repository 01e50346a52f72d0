import { loadSettings } from "@sum/native/settings";
import { buildStack } from "@sum/native/stack";
import { stackCli } from "@sum/native/stack-cli";
import { expect, inject, it } from "vitest";
import { PipelineClient, stackEndpoints } from "../src/clients.js";
import { type LoadResult, runLoad } from "../src/load.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

// A small cap for this test (the stack's own is 2 GB), so Service A's backpressure engages after a
// few tens of thousands of sums rather than millions; set at run time, restored at the end.
const SMALL_CAP = "32MB";

it("Kafka Connect down under load: Service A refuses before the slot's cap, and every sum answered 200 is in the total exactly once", async () => {
  const stack = buildStack(settings, () => undefined);
  const endpoints = stackEndpoints(settings);
  const client = new PipelineClient(endpoints);
  const setCap = async (cap: string) => {
    await stack.outbox.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '${cap}'`);
    await stack.outbox.query("SELECT pg_reload_conf()");
  };
  const before = await client.settledTotal();
  await setCap(SMALL_CAP);
  const phases: LoadResult[] = [];
  try {
    await stack.connect.stop();
    // Sums keep coming, phase after phase, until every instance refuses them: each reads the slot's
    // state once a second, so in the phase where the first refuses, another may still accept.
    for (let everyRefused = false; !everyRefused; ) {
      const phase = await runLoad(endpoints, { transport: "http", concurrency: 32, seconds: 2 });
      phases.push(phase);
      everyRefused = phase.acked === 0 && (phase.failures["HTTP 503 UNAVAILABLE"] ?? 0) > 0;
      expect(phases.length, "phases before Service A refused").toBeLessThan(150);
    }
    const refusal = await fetch(`${endpoints.http}/sum`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"a": 1, "b": 1}',
    });
    expect(refusal.status).toBe(503);
    expect(((await refusal.json()) as { error: { message: string } }).error.message).toMatch(/event stream is behind/);
    expect(await client.sumOverGrpc(1, 1)).toEqual({ ok: false, status: "gRPC 14" });
  } finally {
    await stackCli(env, "start");
  }
  // Every failure was a refusal.
  const reasons = new Set(phases.flatMap((phase) => Object.keys(phase.failures)));
  expect([...reasons]).toEqual(["HTTP 503 UNAVAILABLE"]);
  // Taken again under the small cap, once Debezium has caught up: settledTotal's own sum shows it.
  const after = await client.settledTotal().finally(() => setCap("2GB"));
  client.close();
  const acked = phases.reduce((sum, phase) => sum + phase.acked, 0);
  const ackedSum = phases.reduce((sum, phase) => sum + phase.ackedSum, 0n);
  expect(acked).toBeGreaterThan(10_000);
  expect(after.eventsApplied - before.eventsApplied).toBe(acked);
  expect(after.total - before.total).toBe(ackedSum);
});
