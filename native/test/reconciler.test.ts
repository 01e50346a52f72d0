import { expect, inject, it } from "vitest";
import { PipelineClient, stackEndpoints } from "../../proof/src/clients.js";
import { loadSettings } from "../src/settings.js";
import { stackCli } from "./stack-cli.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

/** The reconciler compares whole minutes of creation time: the end of the one `ms` falls in. */
const endOfMinute = (ms: number) => Math.ceil((ms + 1) / 60_000) * 60_000;

it("the reconciler runs in the stack, and make reconcile finds every acknowledged sum in the total", async () => {
  const reconciler = `http://127.0.0.1:${settings.RECONCILER_PORT}`;
  expect((await fetch(`${reconciler}/readyz`)).status).toBe(200);

  const client = new PipelineClient(stackEndpoints(settings));
  try {
    for (let i = 0; i < 5; i++) expect((await client.sumOverHttp(i, 1)).ok).toBe(true);
  } finally {
    client.close();
  }
  // Their minute ended and past a grace of a second, it is among the minutes the check compares.
  await new Promise((resolve) => setTimeout(resolve, endOfMinute(Date.now()) + 1500 - Date.now()));
  const output = await stackCli({ ...env, RECONCILE_GRACE_SECONDS: "1" }, "reconcile");
  const [, acknowledged] = /^\d+ minutes, (\d+) acknowledged: 0 missing,/m.exec(output) ?? [];
  expect(Number(acknowledged), output).toBeGreaterThanOrEqual(5);

  const metrics = await (await fetch(`${reconciler}/metrics`)).text();
  expect(metrics).toMatch(/^reconciler_windows_checked_total [1-9]/m);
});
