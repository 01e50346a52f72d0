/** `make test-chaos`: runChaos against the running native stack (make start), which it needs to itself. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadSettings, REPO_ROOT } from "@sum/native/settings";
import { runChaos } from "./chaos.js";
import { stackEndpoints } from "./clients.js";
import { LONG_FAULTS } from "./faults.js";

const settings = loadSettings();
const report = await runChaos(settings, process.env, stackEndpoints(settings), {
  rate: Number(process.env.CHAOS_RATE ?? 500),
  downMs: Number(process.env.CHAOS_DOWN_MS ?? 3000),
  longFaults: LONG_FAULTS,
  longDownMs: Number(process.env.CHAOS_LONG_DOWN_MS ?? 120_000),
  smallSlotCap: process.env.CHAOS_SLOT_CAP ?? "32MB",
  steadyMs: Number(process.env.CHAOS_STEADY_MS ?? 5000),
  minDurationMs: Number(process.env.CHAOS_MIN_DURATION_MS ?? 60_000),
  log: (line) => console.log(`==> ${line}`),
});

console.log("\nfault                    down  acked  refused  flowing again after");
for (const f of report.faults) {
  console.log(
    `${f.fault.padEnd(22)} ${`${f.downSeconds.toFixed(0)} s`.padStart(6)} ${String(f.acked).padStart(6)} ${String(f.refused).padStart(8)}  ${f.secondsUntilFlowing.toFixed(1)} s`,
  );
}
console.log(
  `\n${report.requests} requests in ${report.seconds.toFixed(0)} s (${report.offeredRate.toFixed(0)}/s offered), ${report.attempts} attempts`,
);
console.log(
  `total grew by ${report.totalDelta}; acknowledged results sum to ${report.expectedDelta}; events applied +${report.eventsAppliedDelta}`,
);
for (const problem of report.problems) console.log(`problem: ${problem}`);
console.log(report.passed ? "PASS" : "FAIL");
await mkdir(join(REPO_ROOT, "results"), { recursive: true });
await writeFile(
  join(REPO_ROOT, "results", "chaos.json"),
  `${JSON.stringify(report, (_key, value) => (typeof value === "bigint" ? value.toString() : value), 2)}\n`,
);
process.exitCode = report.passed ? 0 : 1;
