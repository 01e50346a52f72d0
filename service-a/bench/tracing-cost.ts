/**
 * What tracing costs Service A: its CPU time (user + system, from /proc) per 1,000 sums over HTTP
 * with tracing off, at the default ratio (1%) and at 100%, spans exported over OTLP/HTTP to a local
 * listener that discards them. CPU time rather than sums/s, so other work on the machine changes
 * the figure less; rounds alternate the modes and the median round is reported. First, what the
 * tracing path alone costs a request (its span, its share of a group commit's span), in process:
 * a figure the load of the machine hardly moves.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import type net from "node:net";
import { join } from "node:path";
import { freePort, waitFor } from "@sum/runtime";
import { startBatchSpan, startTracing } from "@sum/service-kit";
import autocannon from "autocannon";
import { inRequestSpans } from "../src/request-span.js";
import { PASSWORDS, startOutboxDatabase } from "../support/outbox-database.js";

const SUMS = Number(process.env.BENCH_SUMS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;
const CLOCK_TICKS_PER_SECOND = 100;

const MODES = [
  { mode: "off", env: { OTEL_EXPORTER_OTLP_ENDPOINT: "" } },
  { mode: "1% (default)", env: { TRACE_SAMPLE_RATIO: "0.01" } },
  { mode: "100%", env: { TRACE_SAMPLE_RATIO: "1" } },
] as const;

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** An OTLP/HTTP endpoint that reads each export and throws it away. */
async function discardingCollector() {
  let exports = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      exports += 1;
      response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    exports: () => exports,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function sums(base: string, amount: number): Promise<number> {
  const result = await autocannon({
    url: `${base}/sum`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"a": 1, "b": 2}',
    connections: CONNECTIONS,
    amount,
  });
  if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx + result.errors} sums failed`);
  return result["2xx"];
}

async function measure(env: Record<string, string>, collector: string, databaseUrls: Record<string, string>) {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(import.meta.dirname, "..", "dist", "src", "main.js")], {
    env: {
      ...process.env,
      SERVICE_ID: "service-a-bench",
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      LOG_LEVEL: "warn",
      // A busy machine may take over the default second to open a connection: a failed sum would
      // leave the run's count short.
      DB_CONNECT_TIMEOUT_MS: "10000",
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      ...databaseUrls,
      ...env,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor("service-a to be ready", async () => (await fetch(`${base}/readyz`)).ok, 60_000);
    await sums(base, Math.min(5000, SUMS)); // warm-up: JIT, pool, batches
    const before = cpuSeconds(child.pid as number);
    const done = await sums(base, SUMS);
    // CPU milliseconds per 1,000 sums: seconds per sum, times 1,000 sums, times 1,000 ms.
    return ((cpuSeconds(child.pid as number) - before) / done) * 1_000_000;
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

/** CPU microseconds the tracing path adds to one request: its span, and a 50th of a batch's span. */
async function tracingPathCost(env: Record<string, string>, collector: string): Promise<number> {
  const tracing = startTracing("bench", {
    OTEL_EXPORTER_OTLP_ENDPOINT: env.OTEL_EXPORTER_OTLP_ENDPOINT ?? collector,
    TRACE_SAMPLE_RATIO: Number(env.TRACE_SAMPLE_RATIO ?? 0.01),
  });
  const requests = 200_000;
  const batch: string[] = [];
  const request = inRequestSpans(tracing.tracer, "POST /sum", async (command) => {
    batch.push(command.traceparent ?? "");
  });
  const started = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    await request({ a: 1, b: 2 });
    if (batch.length === 50) {
      startBatchSpan(tracing.tracer, "outbox group commit", batch)?.end();
      batch.length = 0;
      // Lets the exporter run, as between a real instance's requests.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const used = process.cpuUsage(started);
  await tracing.shutdown();
  return (used.user + used.system) / requests;
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? Number.NaN;

const postgres = await startOutboxDatabase();
const collector = await discardingCollector();
try {
  const databaseUrls = {
    DATABASE_URL: postgres.url("outbox", "service_a", PASSWORDS.service),
    MIGRATION_DATABASE_URL: postgres.url("outbox", "outbox_owner", PASSWORDS.owner),
  };
  const pathCosts = [];
  for (const { mode, env } of MODES) {
    pathCosts.push({ tracing: mode, "CPU µs / request": (await tracingPathCost(env, collector.url)).toFixed(2) });
  }
  console.log("\nThe tracing path alone (in process, 200,000 requests, a batch span per 50)");
  console.table(pathCosts);
  const perMode = new Map<string, number[]>(MODES.map(({ mode }) => [mode, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const { mode, env } of MODES) {
      const cpuMs = await measure(env, collector.url, databaseUrls);
      perMode.get(mode)?.push(cpuMs);
      console.log(`round ${round}, tracing ${mode}: ${cpuMs.toFixed(0)} ms of CPU per 1,000 sums`);
    }
  }
  const off = median(perMode.get("off") ?? []);
  console.log(`\nService A's CPU per 1,000 sums over HTTP (${SUMS} sums a run, median of ${ROUNDS} rounds)`);
  console.table(
    [...perMode].map(([mode, runs]) => ({
      tracing: mode,
      "CPU ms / 1,000 sums": median(runs).toFixed(0),
      "vs off": `${(((median(runs) - off) / off) * 100).toFixed(1)}%`,
      runs: runs.map((ms) => ms.toFixed(0)).join(" "),
    })),
  );
  console.log(`OTLP exports received: ${collector.exports()}`);
} finally {
  await collector.close();
  await postgres.destroy();
}
