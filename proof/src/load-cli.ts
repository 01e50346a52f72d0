/**
 * `make load`: load through nginx from Node, for users without k6. Prints throughput and latency,
 * then waits for Service B and checks that the total grew by exactly the acknowledged results
 * (so run it while nothing else sends sums).
 */

import { loadSettings } from "@sum/native/settings";
import { z } from "zod";
import { PipelineClient, stackEndpoints } from "./clients.js";
import { runLoad } from "./load.js";

const options = z
  .object({
    LOAD_TRANSPORT: z.enum(["http", "grpc"]).default("http"),
    LOAD_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(64),
    LOAD_SECONDS: z.coerce.number().positive().default(30),
    LOAD_RATE: z.coerce.number().positive().optional(),
  })
  .safeParse(process.env);
if (!options.success) {
  console.error(`make load: ${options.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const { LOAD_TRANSPORT, LOAD_CONCURRENCY, LOAD_SECONDS, LOAD_RATE } = options.data;

const settings = loadSettings();
const endpoints = stackEndpoints(settings);
const client = new PipelineClient(endpoints);
const start = await client.settledTotal();
const mode = LOAD_RATE === undefined ? `${LOAD_CONCURRENCY} callers` : `${LOAD_RATE}/s offered`;
console.log(`==> ${LOAD_TRANSPORT} through nginx, ${mode}, ${LOAD_SECONDS} s`);
const result = await runLoad(endpoints, {
  transport: LOAD_TRANSPORT,
  concurrency: LOAD_CONCURRENCY,
  seconds: LOAD_SECONDS,
  ...(LOAD_RATE === undefined ? {} : { rate: LOAD_RATE }),
});
console.log(
  `${result.acked} acknowledged (${result.perSecond.toFixed(0)}/s), ${result.failed} failed, ${result.wrong} wrong results`,
);
console.log(`latency ms: p50 ${result.p50.toFixed(1)}, p99 ${result.p99.toFixed(1)}, p99.9 ${result.p999.toFixed(1)}`);
console.log("==> waiting for Service B to apply everything");
const end = await client.settledTotal();
client.close();
const grew = end.total - start.total;
const passed = grew === result.ackedSum && result.wrong === 0 && result.failed === 0;
console.log(
  `the total grew by ${grew}; the acknowledged results sum to ${result.ackedSum}; events applied +${end.eventsApplied - start.eventsApplied}: ${passed ? "PASS" : "FAIL"}`,
);
if (result.failed > 0)
  console.log("(a failed request may still have been committed, so the exact check needs none to fail)");
process.exitCode = passed ? 0 : 1;
