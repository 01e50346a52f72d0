import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadSettings, paths } from "@sum/native/settings";
import { stackCli } from "@sum/native/stack-cli";
import { expect, inject, it } from "vitest";
import { PipelineClient, stackEndpoints } from "../src/clients.js";
import { type LoadResult, runLoad } from "../src/load.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

it("a rolling restart of Service A under steady HTTP and gRPC load fails no request, and the total is exact", async () => {
  const endpoints = stackEndpoints(settings);
  const client = new PipelineClient(endpoints);
  const before = await client.settledTotal();

  // Load over both transports, phase after phase, for as long as the restart takes.
  let restarting = true;
  const phases: LoadResult[] = [];
  const steadyLoad = async (transport: "http" | "grpc") => {
    while (restarting) phases.push(await runLoad(endpoints, { transport, concurrency: 8, seconds: 2, rate: 100 }));
  };
  const loads = [steadyLoad("http"), steadyLoad("grpc")];
  const output = await stackCli(env, "restart-service-a").finally(() => {
    restarting = false;
  });
  await Promise.all(loads);

  for (let index = 1; index <= settings.SERVICE_A_INSTANCES; index++) {
    expect(output).toContain(`service-a-${index}: ready again`);
  }
  const failed = phases.reduce((sum, phase) => sum + phase.failed, 0);
  const acked = phases.reduce((sum, phase) => sum + phase.acked, 0);
  const ackedSum = phases.reduce((sum, phase) => sum + phase.ackedSum, 0n);
  expect(
    phases.filter((phase) => phase.failed > 0).map((phase) => ({ transport: phase.transport, ...phase.failures })),
  ).toEqual([]);
  expect(failed).toBe(0);
  // Each instance's clients (nginx) closed its connections before the deadline: none was cut.
  for (let index = 1; index <= settings.SERVICE_A_INSTANCES; index++) {
    const log = await readFile(join(paths(settings).logs, `service-a-${index}.log`), "utf8");
    expect(log, `service-a-${index}`).not.toMatch(/still open at the shutdown deadline/);
  }
  expect(acked).toBeGreaterThan(500);
  const after = await client.settledTotal();
  client.close();
  expect(after.eventsApplied - before.eventsApplied).toBe(acked);
  expect(after.total - before.total).toBe(ackedSum);
});
