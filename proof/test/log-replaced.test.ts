import { rm } from "node:fs/promises";
import { loadSettings, paths } from "@sum/native/settings";
import { buildStack } from "@sum/native/stack";
import { stackCli } from "@sum/native/stack-cli";
import { waitFor } from "@sum/runtime";
import { expect, inject, it } from "vitest";
import { type Acknowledged, PipelineClient, stackEndpoints } from "../src/clients.js";
import { restartStack } from "../src/faults.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

it("Kafka's disk lost between two make start: every sum acknowledged after it is in the total once, and make status shows the replaced log", async () => {
  const client = new PipelineClient(stackEndpoints(settings));
  const stack = buildStack(settings, () => undefined);
  try {
    for (let i = 0; i < 30; i++) await client.sumUntilAcknowledged(i, 1);
    const before = await client.settledTotal();

    // The broker's disk lost: Kafka (and Connect, whose offsets and configs were on it) stopped, its data gone.
    await stack.connect.stop();
    await stack.kafka.stop();
    await rm(paths(settings).data("kafka"), { recursive: true, force: true });
    await restartStack({ ...process.env, ...env });

    const after: Acknowledged[] = [];
    for (let i = 0; i < 10; i++) after.push(await client.sumUntilAcknowledged(100 + i, 7));
    const sumAfter = after.reduce((sum, ack) => sum + ack.result, 0n);
    await waitFor(
      "every sum acknowledged after the restart in the total",
      async () => (await client.total()).total >= before.total + sumAfter,
      180_000,
    );
    for (const ack of after) expect(await client.appliedResult(ack.eventId)).toBe(ack.result);
    const settled = await client.settledTotal();
    expect(settled.total).toBe(before.total + sumAfter);
    expect(settled.eventsApplied).toBe(before.eventsApplied + after.length);

    let status = "";
    await waitFor(
      "make status to count the replaced logs",
      async () => {
        status = await stackCli(env, "status");
        return /^Kafka logs replaced \(24 h\) +[1-9]/m.test(status);
      },
      60_000,
    );
    await waitFor(
      "the KafkaLogReplaced alert to fire",
      async () => {
        const response = await fetch(`http://127.0.0.1:${settings.PROMETHEUS_PORT}/api/v1/alerts`);
        const { data } = (await response.json()) as { data: { alerts: Array<{ labels: { alertname: string } }> } };
        return data.alerts.some((alert) => alert.labels.alertname === "KafkaLogReplaced");
      },
      60_000,
    );
  } finally {
    client.close();
  }
});
