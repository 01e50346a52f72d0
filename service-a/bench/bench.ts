/**
 * `make bench-service-a`: one Service A (a child process) against a local PostgreSQL with fsync on,
 * loaded from this process: autocannon over HTTP, a grpc-js client over gRPC; then pgbench's rate for
 * single-row INSERT transactions on the same database as the baseline group commit must beat.
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EVENTS_TOPIC, SUM_CALCULATED } from "@sum/contract";
import { freePort, summationClient, waitFor } from "@sum/runtime";
import { postgresBinDir, type TemporaryPostgres } from "@sum/test-support";
import autocannon from "autocannon";
import { PASSWORDS, startOutboxDatabase } from "../support/outbox-database.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const POOL_SIZE = 8;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

async function batchStats(base: string) {
  return {
    sum: await metric(base, "service_a_group_commit_batch_size_sum"),
    count: await metric(base, "service_a_group_commit_batch_size_count"),
  };
}

async function runHttp(base: string) {
  const before = await batchStats(base);
  const result = await autocannon({
    url: `${base}/sum`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"a": 1, "b": 2}',
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  const after = await batchStats(base);
  const ok = result["2xx"];
  return {
    transport: "http",
    ok,
    errors: result.non2xx + result.errors,
    rate: ok / SECONDS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    meanBatch: (after.sum - before.sum) / (after.count - before.count),
  };
}

async function runGrpc(base: string, target: string) {
  const before = await batchStats(base);
  const client = summationClient(target);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const outcome = await client.calculateSum({ a: 1, b: 2 });
        if (outcome.code === 0) latencies.push(performance.now() - started);
        else errors += 1;
      }
    }),
  );
  client.close();
  const after = await batchStats(base);
  latencies.sort((x, y) => x - y);
  return {
    transport: "grpc",
    ok: latencies.length,
    errors,
    rate: latencies.length / SECONDS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    meanBatch: (after.sum - before.sum) / (after.count - before.count),
  };
}

async function pgbench(postgres: TemporaryPostgres, clients: number): Promise<number> {
  const script = join(postgres.dir, "insert.sql");
  await writeFile(
    script,
    "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, created_at) " +
      `VALUES (gen_random_uuid(), '${EVENTS_TOPIC}', 'bench', '${SUM_CALCULATED}', '{"a": 1, "b": 2, "result": 3}', now());\n`,
  );
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      join(postgresBinDir(), "pgbench"),
      ["-n", "-c", String(clients), "-j", "2", "-T", String(SECONDS), "-f", script, postgres.url("outbox")],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench failed: ${out}`))));
  });
  await postgres.query("TRUNCATE outbox", [], "outbox");
  const tps = /tps = ([\d.]+)/.exec(output)?.[1];
  if (!tps) throw new Error(`no tps in pgbench output: ${output}`);
  return Number(tps);
}

async function main() {
  // Durable like production: fsync on, synchronous_commit on (the defaults).
  const postgres = await startOutboxDatabase({ durable: true });
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const child = spawn(process.execPath, [join(import.meta.dirname, "..", "dist", "src", "main.js")], {
    env: {
      ...process.env,
      SERVICE_ID: "service-a-bench",
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      DB_POOL_SIZE: String(POOL_SIZE),
      DATABASE_URL: postgres.url("outbox", "service_a", PASSWORDS.service),
      MIGRATION_DATABASE_URL: postgres.url("outbox", "outbox_owner", PASSWORDS.owner),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor("service-a to be ready", async () => (await fetch(`${base}/readyz`)).ok, 60_000);
    const http = await runHttp(base);
    const grpc = await runGrpc(base, `127.0.0.1:${grpcPort}`);
    const baseline = await pgbench(postgres, POOL_SIZE);
    const baselineAtLoadConcurrency = await pgbench(postgres, CONNECTIONS);

    const rows = [http, grpc].map((r) => ({
      transport: r.transport,
      "durable sums/s": Math.round(r.rate),
      "p50 ms": r.p50.toFixed(2),
      "p99 ms": r.p99.toFixed(2),
      "mean batch": r.meanBatch.toFixed(1),
      errors: r.errors,
      [`x pgbench -c ${POOL_SIZE}`]: (r.rate / baseline).toFixed(2),
    }));
    console.log(`\nService A, one instance, ${CONNECTIONS} concurrent clients, ${SECONDS} s each, fsync on`);
    console.table(rows);
    console.log(
      `pgbench single-row INSERT commits: ${Math.round(baseline)} tps with ${POOL_SIZE} clients (Service A's pool size), ${Math.round(baselineAtLoadConcurrency)} tps with ${CONNECTIONS} clients`,
    );
    const results = {
      date: new Date().toISOString(),
      seconds: SECONDS,
      connections: CONNECTIONS,
      http,
      grpc,
      pgbench: { [POOL_SIZE]: baseline, [CONNECTIONS]: baselineAtLoadConcurrency },
    };
    await mkdir(join(import.meta.dirname, "..", "..", "results"), { recursive: true });
    await writeFile(
      join(import.meta.dirname, "..", "..", "results", "bench-service-a.json"),
      `${JSON.stringify(results, null, 2)}\n`,
    );
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await postgres.destroy();
  }
}

await main();
