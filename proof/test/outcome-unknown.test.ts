import { loadSettings, serviceAPorts } from "@sum/native/settings";
import { buildStack } from "@sum/native/stack";
import { waitFor } from "@sum/runtime";
import { afterAll, expect, inject, it } from "vitest";
import { PipelineClient, stackEndpoints } from "../src/clients.js";
import { killComponent, restartStack } from "../src/faults.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });
const stack = buildStack(settings, () => undefined);

/** Commits on the outbox database wait, after they are durable locally, for a standby that never comes. */
async function commitsWaitForAStandby(waiting: boolean): Promise<void> {
  await stack.outbox.query(
    waiting ? "ALTER SYSTEM SET synchronous_standby_names = 'nobody'" : "ALTER SYSTEM RESET synchronous_standby_names",
  );
  await stack.outbox.query("SELECT pg_reload_conf()");
}

afterAll(async () => {
  await commitsWaitForAStandby(false);
  await restartStack({ ...process.env, ...env });
});

it("every Service A instance killed while a sum's commit waits: nginx answers 500 OUTCOME_UNKNOWN, not 503, and the sum is in the total once", async () => {
  const client = new PipelineClient(stackEndpoints(settings));
  try {
    const before = await client.settledTotal();
    await commitsWaitForAStandby(true);
    const answer = fetch(`http://127.0.0.1:${settings.NGINX_HTTP_PORT}/sum`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 777, b: 0 }),
    });
    await waitFor("the sum's commit waiting for the standby", async () => {
      const rows = await stack.outbox.query<{ waiting: string }>(
        "SELECT count(*)::text AS waiting FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND usename = 'service_a'",
      );
      return rows[0]?.waiting !== "0";
    });
    for (const instance of serviceAPorts(settings)) killComponent(settings, `service-a-${instance.index}`);

    const response = await answer;
    expect(response.status).toBe(500);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("OUTCOME_UNKNOWN");

    // The commit was durable: once commits stop waiting, the sum goes through the pipeline.
    await commitsWaitForAStandby(false);
    await restartStack({ ...process.env, ...env });
    const after = await client.settledTotal();
    expect(after.total - before.total).toBe(777n);
    expect(after.eventsApplied - before.eventsApplied).toBe(1);
  } finally {
    client.close();
  }
});
