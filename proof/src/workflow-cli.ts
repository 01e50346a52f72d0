/** `make test-workflow`: runWorkflow against the running stack (native or Compose), on the ports of .env. */
import { loadSettings } from "@sum/native/settings";
import { waitFor } from "@sum/runtime";
import { readTrace, traceLink } from "./traces.js";
import { runWorkflow } from "./workflow.js";

const settings = loadSettings();
const host = process.env.WORKFLOW_HOST ?? "127.0.0.1";
const report = await runWorkflow(
  {
    http: `http://${host}:${settings.NGINX_HTTP_PORT}`,
    grpc: `${host}:${settings.NGINX_GRPC_PORT}`,
    serviceB: `http://${host}:${settings.SERVICE_B_PORT}`,
  },
  {
    requests: Number(process.env.WORKFLOW_REQUESTS ?? 300),
    keyedRequests: Number(process.env.WORKFLOW_KEYED_REQUESTS ?? 40),
    timeoutMs: Number(process.env.WORKFLOW_TIMEOUT_MS ?? 60_000),
    log: (line) => console.log(`==> ${line}`),
  },
).catch((error: Error) => {
  console.error(`FAIL: the stack did not answer: ${error.message}\n(is it running? make start)`);
  process.exit(1);
});

console.log(`requests sent:               ${report.sent}`);
console.log(`events acknowledged:         ${report.distinctEvents} (${report.replays} replays of keyed requests)`);
console.log(`sum of their results:        ${report.expectedDelta}`);
console.log(
  `total grew by:               ${report.totalDelta}${report.totalDelta === report.expectedDelta ? "" : " (other traffic flowed meanwhile)"}`,
);
console.log(`all applied within:          ${report.secondsToApply.toFixed(1)} s`);
// Every plain sum went with a sampled traceparent; one of their traces, once Jaeger holds it (the
// services send their spans every 5 s), or what Jaeger holds after 15 s.
const jaeger = `http://${host}:${settings.JAEGER_QUERY_PORT}`;
let found = 0;
const spans = await waitFor(
  "the trace in Jaeger",
  async () => {
    found = (await readTrace(jaeger, report.traceId)).length;
    return found > 0;
  },
  15_000,
).then(
  () => `${found} spans`,
  () => (found === 0 ? "none yet, or Jaeger did not answer" : `${found} spans`),
);
console.log(`a trace in Jaeger:           ${traceLink(jaeger, report.traceId)} (${spans})`);
for (const problem of report.problems) console.log(`problem: ${problem}`);
console.log(report.passed ? "PASS" : "FAIL");
process.exitCode = report.passed ? 0 : 1;
