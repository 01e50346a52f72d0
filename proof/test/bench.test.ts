import { loadSettings } from "@sum/native/settings";
import { expect, inject, it } from "vitest";
import { runBench } from "../src/bench.js";
import { stackEndpoints } from "../src/clients.js";
import { findLoadGenerators } from "../src/load-generators.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

it("make bench measures every phase (closed loops from wrk and grpc-sum), names each component's CPU, runs pgbench and proves the total exact", async () => {
  const generators = await findLoadGenerators(() => {});
  expect(generators, "make test installs wrk (apt) and builds grpc-sum (go build)").toEqual({
    wrk: expect.any(String),
    grpcSum: expect.any(String),
  });
  const report = await runBench(settings, stackEndpoints(settings), {
    levels: [4],
    levelSeconds: 2,
    rate: 100,
    rateSeconds: 3,
    pgbenchClients: [2],
    pgbenchSeconds: 2,
    soakSeconds: 65,
    warmupSeconds: 2,
    generators,
    log: () => {},
  });

  expect(report.phases.map((p) => [p.name, p.generator])).toEqual([
    ["http x4", "wrk"],
    ["grpc x4", "grpc-sum"],
    ["grpc x4 without nginx", "grpc-sum"],
    ["http @100/s", "node"],
    ["grpc @100/s", "node"],
  ]);
  for (const phase of report.phases) {
    expect(phase.acked, phase.name).toBeGreaterThan(0);
    expect(phase.failed, phase.name).toBe(0);
    expect(phase.p50).toBeLessThanOrEqual(phase.p99);
    // Every request went through nginx (but in the phase without it) to Service A, which committed to
    // the outbox, which Debezium streamed.
    const components = [
      ...(phase.route === "nginx" ? ["nginx"] : []),
      "service-a-1",
      "postgres-outbox",
      "kafka",
      "kafka-connect",
      "service-b",
      "load generator",
    ];
    for (const component of components) {
      expect(phase.cpuPer1000[component], `${phase.name} ${component}`).toBeGreaterThan(0);
    }
  }
  const [throughNginx, withoutNginx] = ["grpc x4", "grpc x4 without nginx"].map((name) =>
    report.phases.find((p) => p.name === name),
  );
  expect(withoutNginx?.route).toBe("instances");
  expect(withoutNginx?.cpuPer1000.nginx ?? 1).toBeLessThan(throughNginx?.cpuPer1000.nginx ?? 0);
  expect(report.pipeline.map((p) => p.phase)).toEqual(report.phases.map((p) => p.name));
  for (const pipeline of report.pipeline) {
    expect(pipeline.appliedPerSecond, pipeline.phase).toBeGreaterThan(0);
    expect(pipeline.endToEndP50Ms).toBeGreaterThan(0);
    expect(pipeline.endToEndP99Ms).toBeGreaterThanOrEqual(pipeline.endToEndP50Ms);
  }
  expect(report.pgbench[0]?.tps).toBeGreaterThan(0);
  // Two soak windows (a minute and 5 s), each with its p99 and lag; every component's memory read three times.
  expect(report.soak?.minutes.map((m) => m.minute)).toEqual([1, 2]);
  expect(report.soak?.acked).toBeGreaterThan(0);
  for (const component of ["postgres-outbox", "kafka", "kafka-connect", "service-b", "service-a-1", "nginx"]) {
    const memory = report.soak?.memory.find((m) => m.component === component);
    expect(memory?.startMib, component).toBeGreaterThan(1);
    expect(memory?.endMib, component).toBeGreaterThan(1);
  }
  expect(report.ratioToPgbench.http).toBeGreaterThan(0);
  expect(report.correctness).toMatchObject({ passed: true, eventsApplied: report.correctness.acked });
  expect(report.correctness.totalDelta).toBe(report.correctness.expectedDelta);
  // The outbox keeps every acknowledged event as the reconciler's ledger.
  expect(report.ledger.events).toBeGreaterThanOrEqual(report.correctness.acked);
  expect(report.ledger.bytes).toBeGreaterThan(0);
});
