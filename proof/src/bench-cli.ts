/** `make bench`: runBench against the running native stack (make start), printed as tables and kept in results/bench.json. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadSettings, REPO_ROOT } from "@sum/native/settings";
import { runBench } from "./bench.js";
import { stackEndpoints } from "./clients.js";
import { findLoadGenerators } from "./load-generators.js";

const numbers = (value: string | undefined, fallback: number[]) =>
  value ? value.split(",").map((n) => Number(n.trim())) : fallback;

const log = (line: string) => console.log(`==> ${line}`);

const settings = loadSettings();
const report = await runBench(settings, stackEndpoints(settings), {
  levels: numbers(process.env.BENCH_LEVELS, [16, 64, 128, 256]),
  levelSeconds: Number(process.env.BENCH_SECONDS ?? 20),
  rate: Number(process.env.BENCH_RATE ?? 1000),
  rateSeconds: Number(process.env.BENCH_RATE_SECONDS ?? 30),
  pgbenchClients: numbers(process.env.BENCH_PGBENCH_CLIENTS, [24, 64]),
  pgbenchSeconds: Number(process.env.BENCH_PGBENCH_SECONDS ?? 15),
  soakSeconds: Number(process.env.BENCH_SOAK_SECONDS ?? 600),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 30),
  generators: process.env.BENCH_GENERATOR === "node" ? {} : await findLoadGenerators(log),
  log,
});

const ms = (value: number) => (Number.isNaN(value) ? "-" : value.toFixed(1));
console.log(
  "\nService A through nginx, unless the phase says otherwise (durable sums: each answered only after its commit)",
);
console.table(
  report.phases.map((p) => ({
    phase: p.name,
    generator: p.generator,
    "sums/s": Math.round(p.perSecond),
    "p50 ms": ms(p.p50),
    "p99 ms": ms(p.p99),
    "p99.9 ms": ms(p.p999),
    acked: p.acked,
    failed: p.failed,
  })),
);
console.log("The pipeline behind each phase (Service B)");
console.table(
  report.pipeline.map((p) => ({
    phase: p.phase,
    "applied/s": Math.round(p.appliedPerSecond),
    "max lag": p.maxLag,
    "lag at end": p.endLag,
    "lag bounded": p.lagBounded,
    "e2e p50 ms": ms(p.endToEndP50Ms),
    "e2e p99 ms": ms(p.endToEndP99Ms),
  })),
);
console.log("CPU seconds per 1,000 acknowledged requests, by component");
const components = Object.keys(report.phases[0]?.cpuPer1000 ?? {});
console.table(
  Object.fromEntries(
    components.map((component) => [
      component,
      Object.fromEntries(report.phases.map((p) => [p.name, (p.cpuPer1000[component] ?? 0).toFixed(3)])),
    ]),
  ),
);
if (report.soak) {
  const { soak } = report;
  console.log(`Soak: ${soak.rate} sums/s over HTTP for ${soak.seconds} s, each minute`);
  console.table(
    soak.minutes.map((m) => ({
      minute: m.minute,
      "sums/s": Math.round(m.perSecond),
      "p99 ms": ms(m.p99),
      "max lag": m.maxLag,
      failed: m.failed,
    })),
  );
  console.log(
    soak.p99Ratio === undefined
      ? "p99 trend: too short to tell (it needs two minutes after the first)"
      : `p99 of the last minutes over the first (after the first): ${soak.p99Ratio.toFixed(2)}x: ${soak.p99Growing ? "GROWING" : "flat"}`,
  );
  console.log("Memory (PSS, MiB) at the start, after the first minute and at the end");
  console.table(
    Object.fromEntries(
      soak.memory.map((m) => [
        m.component,
        {
          start: m.startMib.toFixed(0),
          warm: m.warmMib.toFixed(0),
          end: m.endMib.toFixed(0),
          growth: m.growing ? "GROWING" : "flat",
        },
      ]),
    ),
  );
}
for (const { clients, tps } of report.pgbench) {
  console.log(`pgbench single-row INSERT commits on the outbox database, ${clients} clients: ${Math.round(tps)} tps`);
}
console.log(
  `Service A's best rate / pgbench's best: HTTP ${report.ratioToPgbench.http.toFixed(2)}x, gRPC ${report.ratioToPgbench.grpc.toFixed(2)}x`,
);
const { ledger } = report;
console.log(
  `The outbox, kept as the reconciler's ledger: ${ledger.events} events in ${(ledger.bytes / 2 ** 20).toFixed(0)} MiB, ${(((ledger.bytes / Math.max(ledger.events, 1)) * 1e6) / 2 ** 20).toFixed(0)} MiB per million sums`,
);
const { correctness } = report;
console.log(
  `Correctness: ${correctness.acked} acknowledged, ${correctness.eventsApplied} applied; the total grew by ${correctness.totalDelta}, the acknowledged results sum to ${correctness.expectedDelta}: ${correctness.passed ? "PASS" : "FAIL"}`,
);
await mkdir(join(REPO_ROOT, "results"), { recursive: true });
await writeFile(join(REPO_ROOT, "results", "bench.json"), `${JSON.stringify(report, null, 2)}\n`);
process.exitCode = correctness.passed ? 0 : 1;
