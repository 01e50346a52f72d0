import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchReport } from "@sum/proof/bench";
import { describe, expect, it } from "vitest";
import { ASSUMED, limits, measuredPhase, RATES, sizing, tierCosts } from "./capacity.js";
import { renderMarkdown, replaceTable } from "./capacity-cli.js";
import { DEPLOY_DIR } from "./chart.js";

// A report in the shape `make bench` writes (proof/src/bench.ts BenchReport), with round figures.
const FIXTURE = join(DEPLOY_DIR, "fixtures", "bench.json");
const report = JSON.parse(readFileSync(FIXTURE, "utf8")) as BenchReport;
const costs = tierCosts(report);
const cost = (tier: string) => costs.find((c) => c.tier === tier)?.cpuPer1000;

describe("the capacity model (deploy/capacity.ts, capacity-cli.ts)", () => {
  it("takes the per-sum costs from the closed-loop HTTP phase with the highest rate, not gRPC or fixed-rate phases", () => {
    expect(measuredPhase(report).name).toBe("http x256");
  });

  it("refuses a report without a closed-loop HTTP phase", () => {
    const grpcOnly = { ...report, phases: report.phases.filter((phase) => phase.transport === "grpc") };
    expect(() => measuredPhase(grpcOnly)).toThrow("the report has no closed-loop HTTP phase");
  });

  it("adds the Service A instances together and leaves out the load generator and monitoring", () => {
    expect(cost("Service A")).toBeCloseTo(0.15, 9);
    expect(cost("Kafka Connect (Debezium)")).toBeCloseTo(0.048, 9);
    expect(costs.map((c) => c.tier)).not.toContain("load generator");
    expect(costs.reduce((total, c) => total + c.cpuPer1000, 0)).toBeCloseTo(0.359, 9);
  });

  it("puts the one-task Debezium connector first among the limits, at one core's worth of its cost per sum", () => {
    const [first] = [...limits(costs)].sort((a, b) => a.sumsPerSecond - b.sumsPerSecond);
    expect(first?.part).toBe("Debezium connector");
    expect(first?.sumsPerSecond).toBeCloseTo((ASSUMED.connectorTaskCores * ASSUMED.utilisation * 1000) / 0.048, 6);
  });

  it("sizes Service A by CPU at the planned utilisation, never below three pods", () => {
    const serviceA = costs.find((c) => c.tier === "Service A");
    if (!serviceA) throw new Error("no Service A tier");
    const { cores, pods } = sizing(serviceA, 10_000, costs);
    expect(cores).toBeCloseTo((10 * 0.15) / ASSUMED.utilisation, 9);
    expect(pods).toBe("3");
    expect(sizing(serviceA, 200_000, costs).pods).toBe(String(Math.ceil((200 * 0.15) / ASSUMED.utilisation)));
  });

  it("shards the outbox, one connector per database, once one connector is not enough", () => {
    const connect = costs.find((c) => c.tier === "Kafka Connect (Debezium)");
    const outbox = costs.find((c) => c.tier === "outbox PostgreSQL");
    if (!connect || !outbox) throw new Error("missing tiers");
    const connectors = Math.ceil(50_000 / ((ASSUMED.utilisation * 1000) / 0.048));
    expect(connectors).toBe(4);
    expect(sizing(connect, 50_000, costs).pods).toBe("4 connector(s), 4 workers");
    expect(sizing(outbox, 50_000, costs).pods).toBe("4 cluster(s) of 3");
    expect(sizing(outbox, 10_000, costs).pods).toBe("1 cluster(s) of 3");
  });

  it("renders one row per component and a column pair per target rate", () => {
    const markdown = renderMarkdown(report, "deploy/fixtures/bench.json");
    expect(markdown).toContain("phase `http x256`, 4,502 sums/s, correctness PASS");
    for (const rate of RATES) expect(markdown).toContain(`cores @${rate / 1000}k/s`);
    expect(markdown).toMatch(/\| Debezium connector \| 14,583 \|/);
  });

  it("replaces only the generated part of a document, and refuses one without the markers", () => {
    const document =
      "intro\n<!-- capacity-table:begin (deploy/capacity-cli.ts writes this part) -->\nold\n<!-- capacity-table:end -->\nafter\n";
    expect(replaceTable(document, "new")).toBe(document.replace("old", "new"));
    expect(() => replaceTable("no markers", "new")).toThrow(/has no <!-- capacity-table:begin/);
  });

  it("writes the table into docs/scaling.md's generated part when run as a script", () => {
    const copy = join(mkdtempSync(join(tmpdir(), "capacity-")), "scaling.md");
    writeFileSync(copy, readFileSync(join(DEPLOY_DIR, "..", "docs", "scaling.md"), "utf8"));
    // As `make capacity` runs it: workspace packages from source, so no build is needed.
    execFileSync(
      "pnpm",
      ["exec", "tsx", "--conditions=source", join(DEPLOY_DIR, "capacity-cli.ts"), FIXTURE, "--write", copy],
      {
        encoding: "utf8",
      },
    );
    expect(readFileSync(copy, "utf8")).toContain("| Service A | 0.150 |");
  });

  it("says to run make bench first when there is no report", () => {
    const missing = join(mkdtempSync(join(tmpdir(), "capacity-")), "bench.json");
    const result = spawnSync(
      "pnpm",
      ["exec", "tsx", "--conditions=source", join(DEPLOY_DIR, "capacity-cli.ts"), missing],
      {
        encoding: "utf8",
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("does not exist: run `make bench` first");
  });
});
