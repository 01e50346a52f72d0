import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { loadSettings, REPO_ROOT } from "@sum/native/settings";
import { expect, inject, it } from "vitest";
import { runChaos } from "../src/chaos.js";
import { stackEndpoints } from "../src/clients.js";
import { CRASHES, type LongFaultName } from "../src/faults.js";

const CI_LONG_FAULTS: LongFaultName[] = ["kafka-connect down", "replica stream stopped", "poison burst"];

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

it("under load, kill -9 of each component in turn, long outages, a stopped replica stream and a poison burst: the total is exact and every component recovers", async () => {
  const report = await runChaos(
    settings,
    { ...process.env, ...env },
    stackEndpoints(settings),
    // Shortened for CI: each crash once, a modest rate, three long faults of 15 s (Kafka's own
    // outage, as long as its crash takes, is left to `make test-chaos`, which runs them all for 2 min).
    {
      rate: 150,
      downMs: 1000,
      longFaults: CI_LONG_FAULTS,
      longDownMs: 15_000,
      smallSlotCap: "32MB",
      steadyMs: 1000,
      minDurationMs: 0,
      log: (line) => console.log(line),
    },
  );
  console.table(report.faults);
  expect(report.problems).toEqual([]);
  expect(report.faults.map((f) => f.fault)).toEqual([...CRASHES, ...CI_LONG_FAULTS]);
  expect(report.totalDelta).toBe(report.expectedDelta);
  expect(report.requests).toBeGreaterThan(1000);

  // make test-chaos ends with make reconcile: every acknowledged sum of the run is in the total.
  const reconcile = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs"),
      join(REPO_ROOT, "native", "src", "cli.ts"),
      "reconcile",
    ],
    { env: { ...process.env, ...env }, cwd: REPO_ROOT, encoding: "utf8" },
  );
  expect(reconcile.stdout).toMatch(/^\d+ minutes, \d+ acknowledged: 0 missing/m);
  expect(reconcile.status).toBe(0);
});
